/**
 * A strict little parser of Prometheus' text exposition format (0.0.4), for the serve tests: every line must be
 * a HELP, a TYPE or a sample of the family TYPE'd last (histograms: `_bucket` with an `le` label, `_sum`,
 * `_count`), or it throws naming the line. checkHistograms() adds the histogram rules: buckets cumulative in
 * `le` order, the `+Inf` bucket equal to `_count`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseValue(text: string, line: string): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m || m.index !== at) throw new Error(`malformed labels in ${JSON.stringify(line)}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in ${JSON.stringify(line)}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (m[3] === '') break;
  }
  return labels;
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
      let family = families.get(name);
      if (!family) families.set(name, (family = { name, type: 'untyped', help: '', samples: [] }));
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in ${JSON.stringify(line)}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples in ${JSON.stringify(line)}`);
        family.type = rest;
      } else {
        family.help = rest;
      }
      current = family;
      continue;
    }
    if (line.startsWith('#')) continue;  // a comment
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    if (!current) throw new Error(`sample before any TYPE: ${JSON.stringify(line)}`);
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['', '_sum', '_count'] : [''];
    if (!suffixes.some((s) => name === current!.name + s)) throw new Error(`sample ${name} is not of family ${current.name} (${current.type})`);
    const labels = labelText === undefined ? {} : parseLabels(labelText, line);
    if (name.endsWith('_bucket') && current.type === 'histogram' && labels.le === undefined) throw new Error(`bucket without le: ${JSON.stringify(line)}`);
    current.samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  return families;
}

const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());

/** Throws unless every histogram's buckets are cumulative and end in a `+Inf` bucket equal to its `_count`. */
export function checkHistograms(families: Map<string, Family>): void {
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
    for (const s of f.samples) {
      const k = key(s.labels);
      let one = series.get(k);
      if (!one) series.set(k, (one = { buckets: [] }));
      if (s.name.endsWith('_bucket')) one.buckets.push([parseValue(s.labels.le!, s.name), s.value]);
      if (s.name.endsWith('_count')) one.count = s.value;
    }
    for (const [k, { buckets, count }] of series) {
      const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${f.name}${k}: bucket le=${sorted[i]![0]} holds less than le=${sorted[i - 1]![0]}`);
      }
      const inf = sorted.at(-1);
      if (!inf || inf[0] !== Infinity) throw new Error(`${f.name}${k}: no +Inf bucket`);
      if (inf[1] !== count) throw new Error(`${f.name}${k}: +Inf bucket ${inf[1]} != _count ${count}`);
    }
  }
}

/** The value of `name`'s sample with exactly these labels, or undefined. */
export function sampleValue(families: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(family);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
