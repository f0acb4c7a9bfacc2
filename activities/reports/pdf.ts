/**
 * PDF export of a report through headless Chromium (playwright-core drives
 * the system's Debian `chromium`; nothing is downloaded). The page is loaded
 * from a string with every network request refused, then printed. The PDF is
 * written to a temporary file and renamed into place.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { InvalidInput } from '../errors';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface PdfOptions {
  /** Chromium binary (default /usr/bin/chromium). */
  readonly executablePath?: string;
  /** Paper size (default A4). */
  readonly format?: 'A4' | 'Letter';
}

export async function launchChromium(executablePath: string = CHROMIUM_PATH): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  } catch (err) {
    throw new InvalidInput(`cannot start Chromium at ${executablePath}`, { cause: err, hint: 'install it (Debian: apt-get install -y chromium) or export the HTML report instead' });
  }
}

/** Prints `html` to a PDF at `outPath`; returns the number of bytes written. */
export async function renderPdf(html: string, outPath: string, options: PdfOptions = {}): Promise<number> {
  const browser = await launchChromium(options.executablePath);
  try {
    const context = await browser.newContext({ offline: true, javaScriptEnabled: false });
    const page = await context.newPage();
    // A report never needs the network; refuse anything it might try.
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html, { waitUntil: 'load' });
    const pdf = await page.pdf({ format: options.format ?? 'A4', printBackground: true, margin: { top: '14mm', bottom: '14mm', left: '12mm', right: '12mm' } });
    const temp = `${outPath}.tmp-${process.pid}-${Date.now()}`;
    try {
      await writeFile(temp, pdf);
      await rename(temp, outPath);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return pdf.length;
  } finally {
    await browser.close();
  }
}
