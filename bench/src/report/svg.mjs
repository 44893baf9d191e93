// The chart (bench/results/latest.svg), hand-written SVG with no dependency:
//   panel 1: S3 throughput (MB/s) against message size, log-log, one line per system through
//            the medians, a whisker from min to max of the rounds at each point
//   panel 2: S4 round-trip percentiles (p50 / p99 / p99.9, µs) per system and variant, grouped
//            bars on a log axis
//   panel 3 (below, when S12 ran): S12 msg/s per size, a bar per row (shared memory, file,
//            file with a sync every N) through the median, a whisker from min to max, each file
//            row's ratio to ringwire above it; log axis
//   panel 4 (below, when S13 ran): S13 msg/s per size, the same bars (plain nats.js, ringwire
//            bridged over core NATS, and over JetStream), each bridged row's ratio to nats
//            (the median of the per-round ratios) above it
import { formatRatio, sizeLabel } from '../harness/format.mjs';

const COLORS = {
  ringwire: '#d62728', uds: '#1f77b4', 'uds-batched': '#6baed6', tcp: '#2ca02c', 'tcp-batched': '#98df8a',
  pipe: '#9467bd', fifo: '#c5b0d5', 'ipc-json': '#8c564b', 'ipc-advanced': '#c49c94', messageport: '#e377c2',
  'posix-mq': '#bcbd22', 'c-ring': '#17becf', 'js-ceiling': '#7f7f7f', 'c-spin': '#17becf', 'c-futex': '#9edae5',
  'sysv-mq': '#dbdb8d', 'sysv-shm': '#ff7f0e', udp: '#393b79', 'ringwire-file': '#ff9896', 'ringwire-file-sync': '#843c39',
  nats: '#27aae1', 'ringwire-nats': '#e6550d', 'ringwire-nats-jetstream': '#fdae6b',
};
const PERCENTILES = [['p50', '#4c78a8'], ['p99', '#f58518'], ['p999', '#e45756']];
/** The height of a bar panel's band (S12, S13) below the first two panels. */
const BAND = 440;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x, y, s, extra = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${extra}>${esc(s)}</text>`;
const line = (x1, y1, x2, y2, style) => `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${style}/>`;

/** A log10 scale onto [a, b] pixels covering whole decades around [lo, hi]. */
function logScale(lo, hi, a, b) {
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.max(d0 + 1, Math.ceil(Math.log10(hi)));
  const at = (v) => a + ((Math.log10(v) - d0) / (d1 - d0)) * (b - a);
  const ticks = [];
  for (let d = d0; d <= d1; d++) ticks.push(10 ** d);
  return { at, ticks };
}

const decadeLabel = (v) => (v >= 1 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(1))));

function frame(out, box, title, yTitle) {
  const { x0, x1, y0, y1 } = box;
  out.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="#fff" stroke="#999"/>`);
  out.push(text((x0 + x1) / 2, y0 - 14, title, 'font-size="15" font-weight="bold" text-anchor="middle"'));
  out.push(text(x0 - 52, (y0 + y1) / 2, yTitle, `font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 - 52} ${(y0 + y1) / 2})"`));
}

function yAxis(out, box, scale, label = decadeLabel) {
  for (const t of scale.ticks) {
    const y = scale.at(t);
    out.push(line(box.x0, y, box.x1, y, 'stroke="#e5e5e5"'));
    out.push(text(box.x0 - 6, y + 4, label(t), 'font-size="11" text-anchor="end"'));
  }
}

/** A decade of msg/s, short: 100, 10k, 1M. */
const rateLabel = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : decadeLabel(v));

function throughputPanel(out, s3, box) {
  const rows = s3.results.filter((r) => r.value > 0);
  frame(out, box, 'S3 throughput by message size (log-log)', 'MB/s');
  if (rows.length === 0) return;
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const mbs = rows.flatMap((r) => [r.value, r.min > 0 ? r.min : r.value, r.max > 0 ? r.max : r.value].map((v) => v * 1000));
  const y = logScale(Math.min(...mbs), Math.max(...mbs), box.y1, box.y0);
  const lx0 = Math.log2(sizes[0]);
  const lx1 = Math.max(lx0 + 1, Math.log2(sizes[sizes.length - 1]));
  const x = (size) => box.x0 + 20 + ((Math.log2(size) - lx0) / (lx1 - lx0)) * (box.x1 - box.x0 - 40);
  yAxis(out, box, y);
  for (const size of sizes) {
    out.push(line(x(size), box.y1, x(size), box.y1 + 5, 'stroke="#999"'));
    out.push(text(x(size), box.y1 + 18, sizeLabel(size), 'font-size="11" text-anchor="middle"'));
  }
  out.push(text((box.x0 + box.x1) / 2, box.y1 + 36, 'message size', 'font-size="12" text-anchor="middle"'));
  const systems = [...new Set(rows.map((r) => r.system))];
  // ringwire last, so that it is drawn on top
  systems.sort((a, b) => (a === 'ringwire') - (b === 'ringwire'));
  for (const system of systems) {
    const points = rows.filter((r) => r.system === system).sort((a, b) => a.size - b.size);
    const color = COLORS[system] ?? '#333';
    const width = system === 'ringwire' ? 3.5 : 1.6;
    const dash = system.endsWith('-batched') || system === 'js-ceiling' ? ' stroke-dasharray="6 3"' : '';
    const d = points.map((p, k) => `${k ? 'L' : 'M'}${x(p.size).toFixed(1)},${y.at(p.value * 1000).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${width}"${dash}/>`);
    for (const p of points) {
      if (p.min > 0 && p.max > 0) {
        out.push(line(x(p.size), y.at(p.min * 1000), x(p.size), y.at(p.max * 1000), `stroke="${color}" stroke-width="1" opacity="0.6"`));
      }
      out.push(`<circle cx="${x(p.size).toFixed(1)}" cy="${y.at(p.value * 1000).toFixed(1)}" r="${system === 'ringwire' ? 4 : 2.5}" fill="${color}"/>`);
    }
  }
  // legend to the right of the panel
  const order = [...new Set(rows.map((r) => r.system))];
  order.forEach((system, k) => {
    const ly = box.y0 + 8 + k * 18;
    const color = COLORS[system] ?? '#333';
    const dash = system.endsWith('-batched') || system === 'js-ceiling' ? ' stroke-dasharray="6 3"' : '';
    out.push(line(box.x1 + 12, ly, box.x1 + 34, ly, `stroke="${color}" stroke-width="${system === 'ringwire' ? 3.5 : 2}"${dash}`));
    out.push(text(box.x1 + 40, ly + 4, system, `font-size="12"${system === 'ringwire' ? ' font-weight="bold"' : ''}`));
  });
}

function latencyPanel(out, s4, box) {
  const rows = s4.results.filter((r) => r.value > 0);
  frame(out, box, 'S4 ping-pong round trip, 64 B (log axis)', 'µs');
  if (rows.length === 0) return;
  const values = rows.flatMap((r) => PERCENTILES.map(([k]) => r[k]));
  const y = logScale(Math.min(...values), Math.max(...values), box.y1, box.y0);
  yAxis(out, box, y);
  const groupWidth = (box.x1 - box.x0) / rows.length;
  const barWidth = Math.min(16, (groupWidth - 10) / PERCENTILES.length);
  const base = y.at(y.ticks[0]);
  rows.forEach((r, g) => {
    const gx = box.x0 + g * groupWidth + (groupWidth - barWidth * PERCENTILES.length) / 2;
    PERCENTILES.forEach(([key, color], k) => {
      const top = y.at(r[key]);
      out.push(`<rect x="${(gx + k * barWidth).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${Math.max(0.5, base - top).toFixed(1)}" fill="${color}"><title>${esc(`${r.system} ${r.variant ?? ''} ${key}: ${r[key].toFixed(2)} µs`)}</title></rect>`);
    });
    const label = r.variant ? `${r.system} ${r.variant}` : r.system;
    const lx = box.x0 + (g + 0.5) * groupWidth;
    out.push(text(lx, box.y1 + 14, label, `font-size="11" text-anchor="end" transform="rotate(-35 ${lx.toFixed(1)} ${(box.y1 + 14).toFixed(1)})"${r.system === 'ringwire' ? ' font-weight="bold"' : ''}`));
  });
  PERCENTILES.forEach(([key, color], k) => {
    const lx = box.x0 + 10 + k * 70;
    out.push(`<rect x="${lx}" y="${box.y0 + 8}" width="12" height="12" fill="${color}"/>`);
    out.push(text(lx + 16, box.y0 + 18, key === 'p999' ? 'p99.9' : key, 'font-size="12"'));
  });
}

/**
 * msg/s per size, a bar per row through its median with a whisker from min to max, `ratio(row)`
 * ({ value } or undefined) above the bar; log axis. Returns the rows drawn.
 */
function barsPanel(out, s, box, title, ratio) {
  const rows = s.results.filter((r) => r.value > 0);
  frame(out, box, title, 'msg/s');
  if (rows.length === 0) return rows;
  const values = rows.flatMap((r) => [r.value, r.min > 0 ? r.min : r.value, r.max > 0 ? r.max : r.value]);
  const y = logScale(Math.min(...values), Math.max(...values), box.y1, box.y0);
  yAxis(out, box, y, rateLabel);
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const systems = [...new Set(rows.map((r) => r.system))];
  const groupWidth = (box.x1 - box.x0) / sizes.length;
  const barWidth = Math.min(60, (groupWidth - 40) / systems.length);
  const base = y.at(y.ticks[0]);
  sizes.forEach((size, g) => {
    const gx = box.x0 + g * groupWidth + (groupWidth - barWidth * systems.length) / 2;
    systems.forEach((system, k) => {
      const r = rows.find((x) => x.size === size && x.system === system);
      if (!r) return;
      const color = COLORS[system] ?? '#333';
      const cx = gx + (k + 0.5) * barWidth;
      const top = y.at(r.value);
      out.push(`<rect x="${(gx + k * barWidth + 2).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${Math.max(0.5, base - top).toFixed(1)}" fill="${color}"><title>${esc(`${system} ${sizeLabel(size)}: ${Math.round(r.value)} msg/s`)}</title></rect>`);
      if (r.min > 0 && r.max > 0) out.push(line(cx, y.at(r.min), cx, y.at(r.max), 'stroke="#333" stroke-width="1.2"'));
      const above = ratio(r);
      if (above) out.push(text(cx, Math.min(top, y.at(r.max || r.value)) - 6, formatRatio(above.value), 'font-size="11" text-anchor="middle"'));
    });
    out.push(text(box.x0 + (g + 0.5) * groupWidth, box.y1 + 18, sizeLabel(size), 'font-size="12" text-anchor="middle"'));
  });
  systems.forEach((system, k) => {
    const lx = box.x1 + 12;
    const ly = box.y0 + 8 + k * 18;
    out.push(`<rect x="${lx}" y="${ly - 6}" width="16" height="12" fill="${COLORS[system] ?? '#333'}"/>`);
    out.push(text(lx + 22, ly + 4, system, `font-size="12"${system === 'ringwire' ? ' font-weight="bold"' : ''}`));
  });
  return rows;
}

function filePanel(out, s12, box) {
  const rows = barsPanel(out, s12, box, 'S12 file-backed channels against shared memory, SPSC (log axis; ÷ ringwire above each file bar)',
    (r) => r.vsRingwire);
  const where = rows.find((r) => r.fileSystem)?.fileSystem;
  const syncs = rows.filter((r) => r.syncEvery).map((r) => `${r.syncEvery} messages at ${sizeLabel(r.size)}`).join(', ');
  if (where) {
    out.push(text(box.x0, box.y1 + 38, `file rows: a file under ${where.dir} on ${where.type}`
      + `${syncs ? `; ringwire-file-sync: a sync() every ${syncs}` : ''}`, 'font-size="11" fill="#444"'));
  }
}

function natsPanel(out, s13, box) {
  const rows = barsPanel(out, s13, box, 'S13 bridged over NATS, 1 producer -> 1 consumer (log axis; ÷ nats above each bridged bar: median of the rounds)',
    (r) => r.vsNats);
  const server = rows.find((r) => r.natsServer)?.natsServer;
  if (server) {
    out.push(text(box.x0, box.y1 + 38, `one nats-server ${server} on loopback; nats: plain nats.js; ringwire-nats: producer -> channel -> `
      + 'bridge out -> NATS -> bridge in -> channel -> consumer, each its own process', 'font-size="11" fill="#444"'));
  }
}

export function renderSvg(results) {
  const width = 1240;
  const s12 = results.scenarios.find((s) => s.id === 'S12');
  const s13 = results.scenarios.find((s) => s.id === 'S13');
  // Below the first two panels, a band of BAND pixels per bar panel.
  const bands = [s12 && [filePanel, s12], s13 && [natsPanel, s13]].filter(Boolean);
  const height = 580 + BAND * bands.length;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#fafafa"/>`];
  const m = results.machine;
  out.push(text(20, 24, `ringwire bench${results.quick ? ' (quick)' : ''}: ${m.cpus} x ${m.model}, node ${m.node}, ${m.os}; ${results.when}`, 'font-size="13" fill="#444"'));
  const s3 = results.scenarios.find((s) => s.id === 'S3');
  const s4 = results.scenarios.find((s) => s.id === 'S4');
  if (s3) throughputPanel(out, s3, { x0: 90, x1: 560, y0: 70, y1: 480 });
  if (s4) latencyPanel(out, s4, { x0: 780, x1: 1210, y0: 70, y1: 480 });
  bands.forEach(([panel, s], k) => panel(out, s, { x0: 90, x1: 1000, y0: 620 + BAND * k, y1: 950 + BAND * k }));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
