# The POSIX message queue addon for the mq baseline. Built by build.mjs (node-gyp rebuild in
# this directory), never by npm: binding.gyp is not at the workspace root on purpose.
{
  "targets": [
    {
      "target_name": "posix_mq",
      "sources": ["posix_mq.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-lrt"]
    }
  ]
}
