// Serves the page on its own origin, opens it in headless Chromium against
// a running petition-server (cross-origin: the server must allow this
// page's origin with --cors-allowed-origins), waits for the page's steps,
// saves a screenshot, prints the steps and exits non-zero if one failed.
//
//   node run.mjs <server host:port>
//
// Environment: PETITION_SMOKE_ADMIN_PASSWORD (the bootstrap admin's),
// PETITION_WEB_PORT (the page's port, default 50098), CHROMIUM (default
// /usr/bin/chromium), PETITION_WEB_ARTIFACTS (screenshot dir, default
// ./artifacts).

import { createServer } from "node:http";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const target = process.argv[2] ?? "127.0.0.1:50051";
const port = Number(process.env.PETITION_WEB_PORT ?? 50098);
const adminPassword = process.env.PETITION_SMOKE_ADMIN_PASSWORD ?? "";
const artifacts = process.env.PETITION_WEB_ARTIFACTS ?? join(here, "artifacts");
const files = {
  "/": ["src/index.html", "text/html; charset=utf-8"],
  "/page.js": ["dist/page.js", "text/javascript; charset=utf-8"],
};

const pageServer = createServer(async (req, res) => {
  const file = files[req.url ?? ""];
  if (!file) {
    res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
    return;
  }
  res.writeHead(200, { "content-type": file[1] }).end(await readFile(join(here, file[0])));
});
await new Promise((resolve) => pageServer.listen(port, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // CI runs as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox"],
});
let status = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 520 } });
  page.on("console", (m) => m.type() === "error" && console.error(`browser console: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`browser page error: ${e.message}`));
  await page.addInitScript((config) => (window.petitionConfig = config), {
    server: `http://${target}`,
    adminPassword,
  });
  await page.goto(origin);
  await page.waitForFunction(() => window.petitionResult !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => window.petitionResult);
  await mkdir(artifacts, { recursive: true });
  const screenshot = join(artifacts, "browser-grpc-web.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`petition in ${await browser.version()} (page ${origin}, server http://${target})`);
  for (const s of result.steps) console.log(`${s.ok ? "PASS" : "FAIL"} ${s.name}: ${s.detail}`);
  console.log(`screenshot: ${screenshot}`);
  status = result.ok ? 0 : 1;
} catch (e) {
  console.error(`run.mjs: ${e}`);
} finally {
  await browser.close();
  pageServer.close();
}
process.exit(status);
