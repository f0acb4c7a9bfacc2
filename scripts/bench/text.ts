/**
 * Seeded generators of text that compresses like real text: log lines
 * (timestamps, levels, services, words, hex request ids, durations) and
 * source-code-like lines (keywords, identifiers, indentation, comments).
 *
 * Output is produced in blocks written straight into a Buffer (no string
 * concatenation) so hundreds of MiB generate in seconds.
 */
import { KeyStream, Prng } from './prng';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const LEVELS = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'].map((s) => Buffer.from(s, 'latin1'));
const KEYWORDS = ['const', 'let', 'return', 'if', 'else', 'for', 'while', 'function', 'async', 'await', 'export', 'import',
  'new', 'this', 'throw', 'try', 'catch', 'interface', 'type', 'class', 'readonly', 'private', 'public', 'static'];
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qu', 'ri', 'do', 'fe', 'gu', 'ha', 'ji',
  'be', 'co', 'da', 'en', 'in', 'on', 'st', 'tr', 'ch', 'th', 'er', 'an', 're', 'ar', 'or', 'al', 'it', 'is'];

const POOL = 1 << 16;

export class TextGenerator {
  private readonly words: Buffer[];
  private readonly idents: Buffer[];
  private readonly services: Buffer[];
  private readonly keywords: Buffer[] = KEYWORDS.map((k) => Buffer.from(k, 'latin1'));
  private readonly stream: KeyStream;
  private pool: Buffer = Buffer.alloc(0);
  private poolPos = POOL;
  /** Log timestamp in ms; advances monotonically like a real log. */
  private clock: number;

  constructor(seed: string, label: string) {
    const prng = new Prng(`${seed}:text-vocab`);
    this.stream = new KeyStream(seed, `text:${label}`);
    this.words = makeWords(prng, 1024, 1, 4);
    this.idents = makeWords(prng, 512, 2, 5).map((w, i) => (i % 3 === 0 ? Buffer.concat([w, Buffer.from('_'), this.wordAt(prng)]) : w));
    this.services = Array.from({ length: 24 }, (_, i) => Buffer.from(`[${['api', 'worker', 'db', 'cache', 'auth', 'sched'][i % 6]}-${String(i).padStart(2, '0')}]`, 'latin1'));
    this.clock = Date.UTC(2024, 0, 1) + prng.int(0, 86_400_000);
  }

  private wordAt(prng: Prng): Buffer {
    return prng.pick(this.words);
  }

  private byte(): number {
    if (this.poolPos >= POOL) {
      this.pool = this.stream.bytes(POOL);
      this.poolPos = 0;
    }
    return this.pool[this.poolPos++];
  }

  /** Uniform-ish integer in [0, n) for n <= 65536. */
  private below(n: number): number {
    return ((this.byte() << 8) | this.byte()) % n;
  }

  /**
   * `size` bytes of log-like text. `hexIds` is how many random hex ids a line
   * carries (more ids = less compressible). `repeatEvery` > 0 re-emits a
   * recent stretch of output now and then, like repeated stack traces.
   */
  logText(size: number, hexIds = 1, repeatEvery = 0): Buffer {
    const out = Buffer.allocUnsafe(size + 512);
    let pos = 0;
    while (pos < size) {
      if (repeatEvery > 0 && pos > 8192 && this.below(repeatEvery) === 0) {
        const len = 256 + this.below(4096);
        const from = pos - 8192 + this.below(8192 - len);
        out.copy(out, pos, from, from + len);
        pos += len;
        continue;
      }
      this.clock += this.below(2000);
      pos += out.write(new Date(this.clock).toISOString(), pos, 'latin1');
      out[pos++] = 0x20;
      pos = put(out, pos, LEVELS[this.below(LEVELS.length)]);
      out[pos++] = 0x20;
      pos = put(out, pos, this.services[this.below(this.services.length)]);
      const n = 3 + this.below(9);
      for (let i = 0; i < n; i++) {
        out[pos++] = 0x20;
        pos = put(out, pos, this.words[this.below(this.words.length)]);
      }
      for (let i = 0; i < hexIds; i++) {
        pos += out.write(' id=', pos, 'latin1');
        for (let j = 0; j < 16; j++) out[pos++] = HEX[this.byte() & 15]!;
      }
      pos += out.write(' took=', pos, 'latin1');
      pos += out.write(String(this.below(5000)), pos, 'latin1');
      pos += out.write('ms\n', pos, 'latin1');
    }
    return out.subarray(0, size);
  }

  /** `size` bytes of source-code-like text. */
  codeText(size: number): Buffer {
    const out = Buffer.allocUnsafe(size + 512);
    let pos = 0;
    let depth = 0;
    while (pos < size) {
      const indent = depth * 2;
      out.fill(0x20, pos, pos + indent);
      pos += indent;
      const kind = this.below(10);
      const id = (): Buffer => this.idents[this.below(this.idents.length)];
      if (kind < 3) {
        pos = put(out, pos, this.keywords[this.below(this.keywords.length)]);
        out[pos++] = 0x20;
        pos = put(out, pos, id());
        pos += out.write(' = ', pos, 'latin1');
        pos = put(out, pos, id());
        out[pos++] = 0x28;
        pos = put(out, pos, id());
        pos += out.write(', ', pos, 'latin1');
        pos += out.write(String(this.below(1000)), pos, 'latin1');
        pos += out.write(');\n', pos, 'latin1');
      } else if (kind < 5 && depth < 6) {
        pos += out.write('if (', pos, 'latin1');
        pos = put(out, pos, id());
        pos += out.write('.', pos, 'latin1');
        pos = put(out, pos, id());
        pos += out.write(' > ', pos, 'latin1');
        pos += out.write(String(this.below(100)), pos, 'latin1');
        pos += out.write(') {\n', pos, 'latin1');
        depth++;
      } else if (kind < 7 && depth > 0) {
        pos += out.write('}\n', pos, 'latin1');
        depth--;
      } else if (kind < 8) {
        pos += out.write('// ', pos, 'latin1');
        const n = 3 + this.below(8);
        for (let i = 0; i < n; i++) {
          pos = put(out, pos, this.words[this.below(this.words.length)]);
          out[pos++] = 0x20;
        }
        out[pos - 1] = 0x0a;
      } else {
        pos += out.write('return ', pos, 'latin1');
        pos = put(out, pos, id());
        out[pos++] = 0x2e;
        pos = put(out, pos, id());
        pos += out.write(';\n', pos, 'latin1');
      }
    }
    return out.subarray(0, size);
  }
}

function put(out: Buffer, pos: number, word: Buffer): number {
  word.copy(out, pos);
  return pos + word.length;
}

function makeWords(prng: Prng, count: number, minSyl: number, maxSyl: number): Buffer[] {
  const seen = new Set<string>();
  const words: Buffer[] = [];
  while (words.length < count) {
    let w = '';
    const n = prng.int(minSyl, maxSyl);
    for (let i = 0; i < n; i++) w += prng.pick(SYLLABLES);
    if (seen.has(w)) continue;
    seen.add(w);
    words.push(Buffer.from(w, 'latin1'));
  }
  return words;
}
