// A talent's journey through the Kartel API, as the portal would drive it:
// typed from openapi/openapi.json (openapi-typescript) and sent with
// openapi-fetch. `tsc --strict` checks it before it runs, so a field the
// document renames or drops breaks the build here first. Problem answers
// come out typed (`error.code`, `error.errors`).
//
// Environment: KARTEL_URL, KARTEL_ADMIN_EMAIL, KARTEL_ADMIN_PASSWORD, and
// KARTEL_SERVER_LOG: the server's log, where mails go without SMTP (the
// verification link is read from there).
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Problem = components["schemas"]["Problem"];

const base = process.env.KARTEL_URL ?? "http://127.0.0.1:8080";
const adminEmail = required("KARTEL_ADMIN_EMAIL");
const adminPassword = required("KARTEL_ADMIN_PASSWORD");
const serverLog = required("KARTEL_SERVER_LOG");

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function ok<T>(step: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) {
    throw new Error(`${step}: ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  console.log(`ok  ${step} (${r.response.status})`);
  return r.data;
}

function refused(step: string, r: { error?: Problem; response: Response }, status: number, code: string): Problem {
  const e = r.error;
  if (r.response.status !== status || e === undefined || e.code !== code) {
    throw new Error(`${step}: expected ${status} ${code}, got ${r.response.status} ${JSON.stringify(e)}`);
  }
  console.log(`ok  ${step} refused (${status} ${e.code})`);
  return e;
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(`expected: ${what}`);
}

const anonymous = createClient<paths>({ baseUrl: base });
const as = (token: string) => createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });
const key = () => crypto.randomUUID();

// The newest link with a `token=` mailed to `to`, from the server's log
// (mails are logged there when no SMTP server is configured).
async function mailedToken(to: string, prefix: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const found = readFileSync(serverLog, "utf8")
      .split("\n")
      .filter((l) => l.includes(to))
      .flatMap((l) => [...l.matchAll(new RegExp(`token=(${prefix}[A-Za-z0-9_-]+)`, "g"))].map((m) => m[1]!));
    if (found.length > 0) return found[found.length - 1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail with a ${prefix} token to ${to} in ${serverLog}`);
}

const tag = key().slice(0, 8);
const email = `ts-${tag}@example.com`;
const password = "correct horse battery staple";

// Register, sign in, refresh.
const account = ok("register", await anonymous.POST("/api/v1/auth/register", {
  body: { email, password, handle: `ts_${tag}`, display_name: "Type Script" },
}));
expect(account.email === email && account.roles.includes("talent"), "a talent account");
refused("register again", await anonymous.POST("/api/v1/auth/register", {
  body: { email, password, handle: `ts2_${tag}`, display_name: "Again" },
}), 409, "email_taken");
refused("sign in with a wrong password", await anonymous.POST("/api/v1/auth/login", {
  body: { email, password: "not the password at all" },
}), 401, "invalid_credentials");
const first = ok("sign in", await anonymous.POST("/api/v1/auth/login", { body: { email, password } }));
expect(first.token_type === "Bearer" && first.expires_in > 0, "a bearer token");
const tokens = ok("refresh", await anonymous.POST("/api/v1/auth/refresh", {
  body: { refresh_token: first.refresh_token },
}));
const talent = as(tokens.access_token);

// Profile and a track: Tier 1 once the profile is complete.
const me = ok("me", await talent.GET("/api/v1/me"));
expect(me.id === account.id && me.profile_complete === false, "an incomplete profile");
const bad = refused("a portfolio link that is no URL", await talent.PATCH("/api/v1/me", {
  body: { portfolio_links: ["not a url"] },
}), 422, "validation_failed");
expect(bad.errors?.[0]?.field === "portfolio_links[0]", "the field is named");
const profile = ok("complete the profile", await talent.PATCH("/api/v1/me", {
  body: { bio: "I cut trailers.", portfolio_links: ["https://portfolio.example.com/ts"] },
}));
expect(profile.profile_complete, "a complete profile");
const standing = ok("enrol", await talent.POST("/api/v1/me/tracks", { body: { track: "preditor" } }));
expect(standing.tier === 1 && standing.certificate === null, "Tier 1, no certificate");
const progress = ok("progress", await talent.GET("/api/v1/me/progress"));
const next = progress.tracks[0]?.next;
expect(next?.tier === 2 && next.requirements.every((r) => typeof r.target === "number"), "what Tier 2 needs");
const tracks = ok("tracks", await anonymous.GET("/api/v1/tracks"));
expect(tracks.items.length === 5, "five tracks");

// Credits: the allowance needs a verified address.
expect(me.email_verified === false, "an unverified address at first");
refused("claim the allowance unverified", await talent.POST("/api/v1/credits/allowance", {
  params: { header: { "Idempotency-Key": key() } },
}), 403, "email_unverified");
refused("a made-up verification token", await anonymous.POST("/api/v1/auth/verify-email", {
  body: { token: "ve_made-up" },
}), 400, "invalid_token");
const verified = ok("verify the address with the mailed link", await anonymous.POST("/api/v1/auth/verify-email", {
  body: { token: await mailedToken(email, "ve_") },
}));
expect(verified.email_verified && verified.email === email, "a verified address");
const claimKey = key();
const claimed = ok("claim the allowance", await talent.POST("/api/v1/credits/allowance", {
  params: { header: { "Idempotency-Key": claimKey } },
}));
refused("claim it twice", await talent.POST("/api/v1/credits/allowance", {
  params: { header: { "Idempotency-Key": key() } },
}), 409, "allowance_already_claimed");
const balance = ok("balance", await talent.GET("/api/v1/me/credits"));
expect(balance.available === claimed.amount && balance.held === 0, "the allowance is available");
const history = ok("history", await talent.GET("/api/v1/me/credits/transactions", { params: { query: { limit: 10 } } }));
expect(history.items.length === 1 && history.next_cursor === null, "one transaction");

// A generation run by a service key: hold, then capture part.
const adminTokens = ok("admin signs in", await anonymous.POST("/api/v1/auth/login", {
  body: { email: adminEmail, password: adminPassword },
}));
const admin = as(adminTokens.access_token);
const apiKey = ok("create a service key", await admin.POST("/api/v1/admin/api-keys", {
  body: { name: `ts-${tag}`, scopes: ["credits:hold"] },
}));
const service = createClient<paths>({ baseUrl: base, headers: { "X-Api-Key": apiKey.secret } });
const hold = ok("hold", await service.POST("/api/v1/credits/holds", {
  params: { header: { "Idempotency-Key": key() } },
  body: { talent_id: account.id, amount: 30, purpose: "render 4 images", expires_in_seconds: 600 },
}));
expect(hold.status === "pending", "a pending hold");
ok("capture", await service.POST("/api/v1/credits/holds/{id}/capture", {
  params: { path: { id: hold.id }, header: { "Idempotency-Key": key() } },
  body: { amount: 20 },
}));
const after = ok("balance after the run", await talent.GET("/api/v1/me/credits"));
expect(after.available === claimed.amount - 20 && after.held === 0, "20 spent, 10 released");
refused("a talent reads the dashboard", await talent.GET("/api/v1/dashboard/talent-engine"), 403, "forbidden");
refused("an unknown certificate", await anonymous.GET("/api/v1/certificates/{id}", {
  params: { path: { id: crypto.randomUUID() } },
}), 404, "not_found");

// A challenge: published by a manager (here the admin), entered by the talent.
const now = Date.now();
const challenge = ok("publish a challenge", await admin.POST("/api/v1/challenges", {
  body: {
    title: `Neon product shots ${tag}`,
    brief: "Three product shots of the sneaker in a neon-lit street.",
    track: null,
    min_tier: 0,
    max_tier: 5,
    opens_at: new Date(now - 60_000).toISOString(),
    closes_at: new Date(now + 3_600_000).toISOString(),
    review_due_at: new Date(now + 7_200_000).toISOString(),
    max_submissions_per_talent: 1,
    reward: 10,
    prizes: [],
    reference_assets: ["https://cdn.example.com/ref/1.png"],
    rubric: { criteria: [{ key: "composition", name: "Composition", weight: 1, max_score: 10 }], pass_mark: 50 },
    certifies_track: null,
  },
}));
expect(challenge.status === "draft", "a draft");
ok("open it", await admin.POST("/api/v1/challenges/{id}/transitions", {
  params: { path: { id: challenge.id } },
  body: { to: "open" },
}));
const open = ok("open challenges", await anonymous.GET("/api/v1/challenges", { params: { query: { status: "open" } } }));
expect(open.items.some((c) => c.id === challenge.id), "the new challenge is listed");
const submission = ok("submit work", await talent.POST("/api/v1/challenges/{id}/submissions", {
  params: { path: { id: challenge.id } },
  body: { assets: [`https://assets.example.com/${tag}/1.png`], prompt: "sneaker, wet neon street", workflow: { seed: 7 }, batch_size: 4 },
}));
refused("submit twice", await talent.POST("/api/v1/challenges/{id}/submissions", {
  params: { path: { id: challenge.id } },
  body: { assets: [`https://assets.example.com/${tag}/2.png`], prompt: "again", batch_size: 1 },
}), 409, "submission_limit_reached");
const mine = ok("my submissions", await talent.GET("/api/v1/me/submissions"));
expect(mine.items.length === 1 && mine.items[0]?.id === submission.id, "one submission, mine");

// My data, then my account erased.
const exported = ok("export my data", await talent.GET("/api/v1/me/export"));
expect(exported.account.id === account.id && exported.submissions.length === 1 && exported.credit_transactions.length >= 2,
  "the export holds the account, the submission and the credits");
refused("erase with a wrong password", await talent.DELETE("/api/v1/me", { body: { password: "not the password at all" } }),
  422, "validation_failed");
const erased = await talent.DELETE("/api/v1/me", { body: { password } });
expect(erased.response.status === 204, "erased");
refused("sign in after the erasure", await anonymous.POST("/api/v1/auth/login", { body: { email, password } }),
  401, "invalid_credentials");
console.log("journey complete");
