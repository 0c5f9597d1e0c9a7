// What a web frontend does, in a real browser, over gRPC-Web, with a
// client generated from proto/: sign in, file a case, list it, watch the
// change feed, and read a structured error. Each step is a line on the
// page; the runner (run.mjs) reads `window.petitionResult` and takes the
// screenshot. Not a product UI.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb";
import { CaseEventType, CaseKind, CaseService } from "./gen/petition/v1/cases_pb";
import { DirectoryService, RegionLevel } from "./gen/petition/v1/directory_pb";
import { ChangeFeedService } from "./gen/petition/v1/feed_pb";
import { IdentityService } from "./gen/petition/v1/identity_pb";
import { TaxonomyService } from "./gen/petition/v1/taxonomy_pb";

interface Config {
  server: string;
  adminPassword: string;
}

interface Step {
  name: string;
  ok: boolean;
  detail: string;
}

declare global {
  interface Window {
    petitionConfig: Config;
    petitionResult?: { ok: boolean; steps: Step[] };
  }
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";

/** A resident ID number (GB 11643) of 章贡区 with a valid check character. */
function residentId(): string {
  const year = 1960 + Math.floor(Math.random() * 40);
  const month = String(1 + Math.floor(Math.random() * 12)).padStart(2, "0");
  const day = String(1 + Math.floor(Math.random() * 28)).padStart(2, "0");
  const first17 = `360702${year}${month}${day}${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}`;
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return first17 + CHECK_CHARS[sum % 11];
}

function phone(): string {
  return "139" + String(Math.floor(Math.random() * 1e8)).padStart(8, "0");
}

const steps: Step[] = [];

function show(step: Step): void {
  steps.push(step);
  const li = document.createElement("li");
  li.className = step.ok ? "ok" : "failed";
  li.textContent = `${step.ok ? "✔" : "✘"} ${step.name}: ${step.detail}`;
  document.getElementById("steps")?.appendChild(li);
}

async function step<T>(name: string, run: () => Promise<[T, string]>): Promise<T | undefined> {
  try {
    const [value, detail] = await run();
    show({ name, ok: true, detail });
    return value;
  } catch (e) {
    show({ name, ok: false, detail: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** Tolerates ALREADY_EXISTS: left by an earlier run on this database. */
async function ensure(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (!(e instanceof ConnectError && e.code === Code.AlreadyExists)) throw e;
  }
}

async function main(): Promise<void> {
  const { server, adminPassword } = window.petitionConfig;
  let token = "";
  const bearer: Interceptor = (next) => async (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcWebTransport({ baseUrl: server, interceptors: [bearer] });
  const identity = createClient(IdentityService, transport);
  const cases = createClient(CaseService, transport);
  const feed = createClient(ChangeFeedService, transport);

  const citizen = { phone: phone(), password: "browser-" + Math.random().toString(36).slice(2, 14) };
  await step("RegisterCitizen", async () => {
    const { account } = await identity.registerCitizen({
      realName: "浏览器用户",
      residentId: residentId(),
      phone: citizen.phone,
      password: citizen.password,
    });
    expect(!!account?.id, "no account id");
    expect(!(account?.residentId ?? "").match(/^\d{17}[\dX]$/), "the resident ID came back unmasked");
    return [account, `account ${account?.id}, resident ID ${account?.residentId}`];
  });

  await step("as the admin: the region and category a case needs", async () => {
    token = (await identity.login({ loginName: "admin", password: adminPassword })).tokens?.accessToken ?? "";
    await ensure(() =>
      createClient(DirectoryService, transport).createRegion({ code: "360700", name: "赣州市", level: RegionLevel.CITY }),
    );
    await ensure(() =>
      createClient(TaxonomyService, transport).createCategory({ category: { code: "smoke", name: "冒烟测试" } }),
    );
    return [null, "region 360700, category smoke"];
  });

  const signedIn = await step("Login (the citizen)", async () => {
    const { tokens, account } = await identity.login({ loginName: citizen.phone, password: citizen.password });
    token = tokens?.accessToken ?? "";
    expect(token.length > 0, "no access token");
    return [account, `signed in as ${account?.displayName}`];
  });
  if (!signedIn) return;

  const filed = await step("SubmitCase", async () => {
    const { case: filed } = await cases.submitCase({
      draft: {
        kind: CaseKind.SUGGESTION,
        categoryCode: "smoke",
        regionCode: "360700",
        title: "浏览器提交的建议",
        content: "建议在市民中心增设自助服务终端，方便群众办事。",
        requests: "增设自助服务终端",
      },
      requestId: crypto.randomUUID(),
    });
    expect(!!filed?.id, "no case");
    return [filed, `${filed?.number}, due ${filed?.dueDate}`];
  });
  if (!filed) return;

  await step("ListCases", async () => {
    const { cases: listed } = await cases.listCases({ pageSize: 10 });
    expect(
      listed.some((c) => c.id === filed.id),
      `case ${filed.id} is not on the citizen's list`,
    );
    return [null, `${listed.length} case(s), the new one among them`];
  });

  await step("WatchChanges (server streaming over gRPC-Web)", async () => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 15_000);
    try {
      for await (const response of feed.watchChanges({ afterPosition: 0n }, { signal: abort.signal })) {
        const change = response.changes.find((c) => c.aggregateId === filed.id);
        if (change && change.event.case === "caseEvent") {
          return [null, `${CaseEventType[change.event.value.type]} at position ${change.position}`];
        }
      }
      throw new Error("the watch ended without the case");
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  });

  await step("a structured error: INVALID_ARGUMENT with the field named", async () => {
    const good = residentId();
    const bad = good.slice(0, 17) + [...CHECK_CHARS].find((c) => c !== good[17]);
    try {
      await identity.registerCitizen({ realName: "浏览器用户", residentId: bad, phone: phone(), password: citizen.password });
    } catch (e) {
      const error = ConnectError.from(e);
      expect(error.code === Code.InvalidArgument, `code ${Code[error.code]}`);
      const fields = error.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field));
      const reasons = error.findDetails(ErrorInfoSchema).map((i) => i.reason);
      expect(fields.includes("resident_id"), `violations name ${JSON.stringify(fields)}`);
      return [null, `${Code[error.code]}: fields ${fields.join(", ")}; reason ${reasons.join(", ")}`];
    }
    throw new Error("a bad check character was accepted");
  });
}

main()
  .catch((e) => show({ name: "page", ok: false, detail: String(e) }))
  .finally(() => {
    window.petitionResult = { ok: steps.length > 0 && steps.every((s) => s.ok), steps };
    document.body.classList.add("done");
  });
