// A realistic English corpus without network access: the README and doc files of the installed npm packages
// (prose, lists, code), cut into passages of 120-320 words. Deterministic for a given lockfile.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function* markdownFiles(dir, depth = 0) {
  let entries;
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory() && depth < 5 && name !== '.bin') yield* markdownFiles(path, depth + 1);
    else if (st.isFile() && /\.(md|markdown|txt)$/i.test(name) && st.size > 1000) yield path;
  }
}

/**
 * `count` passages from node_modules' Markdown files. Where the files hold fewer, later rounds reuse them with
 * their first r words dropped (round r), so every passage is a distinct text of the same kind.
 */
export function loadCorpus(root, count) {
  const base = loadPassages(root, count);
  const passages = base.slice(0, count);
  for (let round = 1; passages.length < count && base.length > 0; round++) {
    for (const p of base) {
      if (passages.length >= count) break;
      passages.push(p.split(' ').slice(round).join(' '));
    }
  }
  return passages;
}

function loadPassages(root, count) {
  const passages = [];
  for (const file of markdownFiles(join(root, 'node_modules'))) {
    const words = readFileSync(file, 'utf8').replace(/\s+/g, ' ').split(' ');
    for (let at = 0, k = 0; at + 120 < words.length; k++) {
      const n = 120 + ((k * 37) % 200);
      passages.push(words.slice(at, at + n).join(' '));
      at += n;
      if (passages.length >= count) return passages;
    }
  }
  return passages;
}
