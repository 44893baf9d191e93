// Number and size formatting shared by progress lines and tables.

export function sizeLabel(bytes) {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** A value in a scenario's unit, compactly. */
export function formatValue(value, unit) {
  if (value === null || value === undefined) return '-';
  switch (unit) {
    case 'msg/s':
    case 'tasks/s':
      if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
      if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
      return value.toFixed(0);
    case 'GB/s':
      return value >= 10 ? value.toFixed(1) : value >= 0.01 ? value.toFixed(3) : value.toPrecision(2);
    case 'us':
      return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
    case '%':
      return value >= 10 ? value.toFixed(1) : value.toFixed(2);
    default:
      return String(value);
  }
}

/** A ratio as "12.3x" (or "-" when either side is missing). */
export function formatRatio(ratio) {
  if (ratio === null || !Number.isFinite(ratio) || ratio <= 0) return '-';
  if (ratio >= 100) return `${ratio.toFixed(0)}x`;
  if (ratio >= 10) return `${ratio.toFixed(1)}x`;
  if (ratio >= 0.1) return `${ratio.toFixed(2)}x`;
  return `${ratio.toPrecision(2)}x`; // 0.019x, not 0.02x
}

export function pad(text, width, right = false) {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

/** Percentiles (and the mean) of a list of samples, as numbers. */
export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  let sum = 0;
  for (const x of sorted) sum += x;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), mean: sum / sorted.length, max: sorted[sorted.length - 1] };
}

/** CPU time per message: "812 ns", "12.3 µs", "41.2 ms"; "-" when unknown. */
export function formatCpuNs(ns) {
  if (typeof ns !== 'number' || !(ns > 0)) return '-';
  if (ns >= 1e7) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e5) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns >= 100 ? ns.toFixed(0) : ns.toFixed(1)} ns`;
}
