// The ticks the publisher sends: tick i is always the same, so the subscribers' output can be checked.
export const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA'];

export function tick(i) {
  return { seq: i, symbol: SYMBOLS[i % SYMBOLS.length], price: 100 + ((i * 7919) % 1000) / 100, size: 1 + (i % 10) };
}
