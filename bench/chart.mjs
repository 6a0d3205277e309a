// A grouped horizontal bar chart as a standalone SVG (no dependencies), log-scaled: one group per row label,
// one bar per series, the value printed at the bar's end. Used by the benchmarks to put their tables in docs/.
const COLORS = ['#2b6cb0', '#dd6b20', '#a0aec0', '#38a169'];
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export function barChartSvg({ title, groups, series, footnote = '' }) {
  const labelWidth = 210, plotWidth = 560, barHeight = 12, gap = 10, top = 46;
  const values = groups.flatMap((g) => g.values).filter((v) => v != null && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const x = (v) => labelWidth + (plotWidth * Math.log10(v / lo)) / Math.log10(hi / lo);
  const groupHeight = series.length * barHeight + gap;
  const height = top + groups.length * groupHeight + 40;
  const width = labelWidth + plotWidth + 90;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`, `<text x="10" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`];
  series.forEach((s, i) => {
    out.push(`<rect x="${10 + i * 190}" y="28" width="10" height="10" fill="${COLORS[i]}"/><text x="${24 + i * 190}" y="37">${escape(s)}</text>`);
  });
  for (let p = lo; p <= hi; p *= 10) {
    out.push(`<line x1="${x(p)}" x2="${x(p)}" y1="${top - 4}" y2="${height - 34}" stroke="#e2e8f0"/>`,
      `<text x="${x(p)}" y="${height - 22}" text-anchor="middle" fill="#4a5568">${p >= 1e3 ? `${p / 1e3}k` : p}</text>`);
  }
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupHeight;
    out.push(`<text x="${labelWidth - 8}" y="${y0 + (series.length * barHeight) / 2 + 4}" text-anchor="end">${escape(g.label)}</text>`);
    g.values.forEach((v, si) => {
      if (v == null || !(v > 0)) return;
      const y = y0 + si * barHeight;
      out.push(`<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(v) - labelWidth).toFixed(1)}" height="${barHeight - 2}" fill="${COLORS[si]}"/>`,
        `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barHeight - 3}" fill="#2d3748">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`);
    });
  });
  if (footnote) out.push(`<text x="10" y="${height - 6}" fill="#718096">${escape(footnote)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
