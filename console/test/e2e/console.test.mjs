// The web console in a real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core; nothing downloads a browser) against `roster dev`: a real nats-server
// with the websocket listener and the auth callout, and a real worker. The CLI plays the
// other people. Screenshots of each view go to target/console-screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const roster = process.env.ROSTER_BIN ?? join(repo, "target/debug/roster");
const shots = process.env.CONSOLE_SCREENSHOTS ?? join(repo, "target/console-screenshots");
const chromiumPath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

const home = mkdtempSync(join(tmpdir(), "roster-console-e2e-"));
let dev, info, browser;

/** Runs the CLI as someone (their own identity file); returns stdout (JSON parsed with --json). */
function cli(who, args, env = {}) {
  let out;
  try {
    out = execFileSync(roster, args, {
      env: { ...process.env, ROSTER_NATS_URL: info.nats_url, ROSTER_IDENTITY: join(home, `${who}.json`), XDG_CONFIG_HOME: join(home, "xdg"), ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    throw new Error(`roster ${args.join(" ")} (as ${who}) failed: ${e.stdout}${e.stderr}`);
  }
  return args.includes("--json") ? JSON.parse(out) : out;
}

function register(who, invite) {
  cli(who, ["keygen"]);
  cli(who, ["register", "--json"], { ROSTER_INVITE: invite });
}

async function page(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const p = await ctx.newPage();
  p.on("pageerror", (e) => console.error(`[${name}] page error:`, e.message));
  await p.goto(info.console_url);
  return p;
}

async function shot(p, name) {
  await p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signInWithFile(p, who) {
  await p.getByTestId("in-identity_file").setInputFiles(join(home, `${who}.json`));
  await p.getByTestId("sign-in-file").click();
  await p.getByTestId("whoami-handle").waitFor();
}

before(async () => {
  dev = spawn(roster, ["dev", "--json", "--port", "0", "--ws-port", "0", "--console-port", "0", "--console-dir", join(repo, "console/dist")], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  dev.stderr.on("data", (d) => (log += d));
  const line = await new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`roster dev did not get ready: ${log}`)), 60000);
    createInterface({ input: dev.stdout }).once("line", (l) => (clearTimeout(t), ok(l)));
    dev.once("exit", (c) => fail(new Error(`roster dev exited ${c}: ${log}`)));
  });
  info = JSON.parse(line);
  assert.ok(info.console_url && info.ws_url, `dev serves the console: ${line}`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  register("owner", info.owner_invite);
});

after(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    dev.kill("SIGTERM");
    await new Promise((r) => dev.once("exit", r));
  }
  rmSync(home, { recursive: true, force: true });
});

let owner, memberToken, member;

test("the owner signs in with the CLI's identity file and sees every view", async () => {
  owner = await page("owner");
  assert.equal(await owner.getByTestId("in-ws_url").inputValue(), info.ws_url, "the page offers dev's websocket URL");
  await shot(owner, "00-sign-in");
  await signInWithFile(owner, "owner");
  assert.equal(await owner.getByTestId("whoami-handle").textContent(), "owner");
  assert.match(await owner.getByTestId("whoami-role").textContent(), /owner \(platform\)/);
  for (const v of ["overview", "users", "invites", "sites", "machines", "audit", "tenants", "roles", "apikeys"]) {
    await owner.getByTestId(`nav-${v}`).waitFor();
  }
  await owner.getByTestId("count-users").waitFor();
  await shot(owner, "01-overview");
});

test("an invite created in the page shows its token once", async () => {
  await owner.getByTestId("nav-invites").click();
  await owner.getByTestId("in-handle").fill("bob");
  await owner.getByTestId("in-role").selectOption("member");
  await owner.getByTestId("invite-create").click();
  const secret = owner.getByTestId("secret-value");
  memberToken = (await secret.textContent()).trim();
  assert.match(memberToken, /^inv_/);
  await owner.getByTestId("copy").waitFor();
  await owner.locator('[data-testid="invites-table"] tr', { hasText: "bob" }).waitFor();
  await shot(owner, "02-invites-token-shown-once");
  await owner.getByTestId("dismiss").click();
  assert.equal(await owner.getByTestId("shown-once").count(), 0);
  await owner.getByTestId("nav-users").click();
  await owner.getByTestId("nav-invites").click();
  await owner.locator('[data-testid="invites-table"] tr', { hasText: "bob" }).waitFor();
  assert.ok(!(await owner.content()).includes(memberToken), "the token is nowhere in the page once dismissed");
  await shot(owner, "03-invites");
});

test("a member registered with the CLI appears in the users view without a reload", async () => {
  await owner.getByTestId("nav-users").click();
  await owner.locator('[data-testid="users-table"] tr[data-id="owner"]').waitFor();
  const inv = cli("owner", ["invite", "create", "--handle", "carol", "--role", "member", "--json"]);
  register("carol", inv.token);
  await owner.locator('[data-testid="users-table"] tr[data-id="carol"]').waitFor({ timeout: 10000 });
  await shot(owner, "04-users");
});

test("a site's key is shown once, and a pending machine is approved in the page", async () => {
  await owner.getByTestId("nav-sites").click();
  await owner.getByTestId("in-site").fill("PHX");
  await owner.getByTestId("in-display_name").fill("Phoenix");
  await owner.getByTestId("in-policy").selectOption("approval");
  await owner.getByTestId("site-create").click();
  const key = (await owner.getByTestId("secret-value").textContent()).trim();
  assert.match(key, /^cek_/);
  assert.match(await owner.getByTestId("shown-once").textContent(), /v1 \(/);
  await owner.locator('[data-testid="sites-table"] tr[data-id="PHX"]').waitFor();
  await shot(owner, "05-sites-key-shown-once");
  await owner.getByTestId("dismiss").click();
  // Rotate with a grace: a new key and fingerprint, the old one's end shown.
  await owner.getByTestId("in-grace-PHX").fill("3600");
  await owner.getByTestId("rotate-PHX").click();
  assert.match(await owner.getByTestId("shown-once").textContent(), /v2 \(.*works until/s);
  await owner.getByTestId("fp-PHX").filter({ hasText: "v2" }).waitFor();
  const newKey = (await owner.getByTestId("secret-value").textContent()).trim();
  await owner.getByTestId("dismiss").click();
  await shot(owner, "06-sites");

  writeFileSync(join(home, "site.key"), newKey);
  await owner.getByTestId("nav-machines").click();
  const out = cli("agent1", ["enroll", "--site", "PHX", "--key-file", join(home, "site.key"), "--uid", "uid-1", "--hostname", "box-1", "--json"]);
  assert.equal(out.state, "pending");
  const row = owner.locator(`[data-testid="machines-table"] tr[data-id="${out.machine_id}"]`);
  await row.getByText("pending").waitFor({ timeout: 10000 });
  await shot(owner, "07-machines-pending");
  await owner.getByTestId(`approve-${out.machine_id}`).click();
  await row.getByText("active").waitFor();
  await shot(owner, "08-machines-approved");
});

test("a live audit event arrives in the audit view", async () => {
  await owner.getByTestId("nav-audit").click();
  assert.match(await owner.getByTestId("live-mode").textContent(), /Live from roster\.audit\.>/);
  await owner.getByTestId("audit-table").waitFor();
  const rows = owner.locator('[data-testid="live-events"] tr');
  const seen = await rows.count();
  const inv = cli("owner", ["invite", "create", "--handle", "dave", "--role", "operator", "--json"]);
  await owner.waitForFunction((n) => document.querySelectorAll('[data-testid="live-events"] tr').length > n, seen, { timeout: 10000 });
  assert.match(await rows.first().textContent(), new RegExp(`invite\\.created.*${inv.invite_id}`));
  await owner.getByTestId("in-action").fill("machine.>");
  await owner.getByTestId("audit-query").click();
  await owner.locator('[data-testid="audit-table"] tr', { hasText: "machine.approved" }).waitFor();
  const download = owner.waitForEvent("download");
  await owner.getByTestId("export-csv").click();
  const csv = readFileSync(await (await download).path(), "utf8");
  assert.match(csv.split("\n")[0], /^id,time,action,outcome/);
  assert.match(csv, /machine\.approved/);
  await shot(owner, "09-audit");
});

test("tenants and roles come from the same catalog the worker enforces", async () => {
  await owner.getByTestId("nav-tenants").click();
  await owner.locator('[data-testid="tenants-table"] tr[data-id="default"]').waitFor();
  await shot(owner, "10-tenants");
  await owner.getByTestId("nav-roles").click();
  await owner.locator('[data-testid="catalog-table"] tr', { hasText: "machine:approve" }).waitFor();
  await owner.locator('[data-testid="roles-table"] tr[data-id="operator"]').waitFor();
  await shot(owner, "11-roles");
});

test("an API key is shown once, and rolled", async () => {
  await owner.getByTestId("nav-apikeys").click();
  await owner.getByTestId("in-apikey_name").fill("ci-reader");
  await owner.getByTestId("in-apikey_scopes").fill("machine:read site:read");
  await owner.getByTestId("apikey-create").click();
  assert.match((await owner.getByTestId("secret-value").textContent()).trim(), /^rak_/);
  await owner.locator('[data-testid="apikeys-table"] tr[data-id="ci-reader"]').waitFor();
  await shot(owner, "12-apikeys-key-shown-once");
  await owner.getByTestId("dismiss").click();
  await owner.getByTestId("roll-ci-reader").click();
  assert.match(await owner.getByTestId("shown-once").textContent(), /works until/);
  await owner.getByTestId("dismiss").click();
});

/** Every websocket frame the page sends and receives, as text (NATS over websocket). */
function recordFrames(p) {
  const frames = [];
  p.on("websocket", (ws) => {
    const keep = (dir) => (f) => frames.push({ dir, text: typeof f.payload === "string" ? f.payload : Buffer.from(f.payload).toString("latin1") });
    ws.on("framesent", keep("sent"));
    ws.on("framereceived", keep("received"));
  });
  return frames;
}

const credRow = (p, scope, text) => p.locator(`[data-testid="creds-${scope}"] tr`, { hasText: text });

async function storeCredential(p, { scope, provider, name, type, value }) {
  await p.getByTestId("in-cred_scope").selectOption(scope);
  await p.getByTestId("in-cred_provider").fill(provider);
  await p.getByTestId("in-cred_name").fill(name);
  await p.getByTestId("in-cred_type").selectOption(type);
  await p.getByTestId("in-cred_value").fill(value);
  await p.getByTestId("cred-create").click();
  await credRow(p, scope, name).waitFor();
  assert.equal(await p.getByTestId("in-cred_value").inputValue(), "", "the value field is emptied once sealed and sent");
}

async function revealAndShow(p, row) {
  await row.getByTestId("cred-reveal").click();
  const value = p.getByTestId("revealed-value");
  await value.waitFor();
  assert.match(await value.textContent(), /hidden/, "the plaintext is not drawn until Show is clicked");
  await p.getByTestId("reveal-show").click();
  return (await value.textContent()).trim();
}

test("credentials are sealed in the tab, shown masked, revealed, rotated, revoked and deleted", async () => {
  const p = await page("owner-credentials");
  const frames = recordFrames(p);
  await signInWithFile(p, "owner");
  await p.getByTestId("nav-credentials").click();
  await p.getByTestId("creds-tenant").waitFor();
  await p.getByTestId("creds-system").waitFor(); // a platform owner holds the system scope too
  const suffix = Math.random().toString(36).slice(2, 10);
  const tenantSecret = `AKIAtenant-${suffix}-T9x1`;
  const userSecret = `ghp_user-${suffix}-U7z2`;
  const rotatedSecret = `ghp_rotated-${suffix}-R3q4`;
  await storeCredential(p, { scope: "tenant", provider: "aws", name: "ci", type: "api_key", value: tenantSecret });
  await storeCredential(p, { scope: "user", provider: "github", name: "deploy", type: "access_token", value: userSecret });
  assert.equal((await credRow(p, "tenant", "ci").getByTestId("masked").textContent()).trim(), "••••T9x1");
  const userRow = credRow(p, "user", "deploy");
  assert.equal((await userRow.getByTestId("masked").textContent()).trim(), "••••U7z2");
  assert.ok(!(await p.content()).includes(userSecret), "only the masked value is in the page");
  await shot(p, "18-credentials");

  // Reveal: the reply is sealed to this identity's kex_pub and opened in the tab.
  assert.equal(await revealAndShow(p, userRow), userSecret);
  await shot(p, "19-credentials-revealed");
  await p.getByTestId("reveal-show").click(); // Hide
  assert.ok(!(await p.content()).includes(userSecret), "hidden: the plaintext left the DOM");
  await p.getByTestId("reveal-done").click();
  assert.equal(await p.getByTestId("revealed").count(), 0);

  // Rotate: the new value is sealed the same way; the worker reveals the new one.
  await userRow.getByTestId("cred-rotate").click();
  await p.getByTestId("in-secret").fill(rotatedSecret);
  await p.getByTestId("prompt-ok").click();
  await userRow.getByTestId("masked").filter({ hasText: "R3q4" }).waitFor();
  assert.equal(await revealAndShow(p, userRow), rotatedSecret);
  const id = await userRow.getAttribute("data-id");
  assert.equal(cli("owner", ["credential", "reveal", id, "--show"]).trim(), rotatedSecret, "the worker holds what the page sealed");
  await p.getByTestId("reveal-done").click();

  // Revoke (after a confirmation): never revealed again.
  await userRow.getByTestId("cred-revoke").click();
  await p.getByTestId("confirm-yes").click();
  await userRow.getByTestId("cred-state").filter({ hasText: "revoked" }).waitFor();
  assert.equal(await userRow.getByTestId("cred-reveal").count(), 0);
  await shot(p, "20-credentials-revoked");
  // Delete (after a confirmation).
  await userRow.getByTestId("cred-delete").click();
  await p.getByTestId("confirm-yes").click();
  await userRow.waitFor({ state: "detached" });

  // A revealed value leaves the page on sign-out.
  assert.equal(await revealAndShow(p, credRow(p, "tenant", "ci")), tenantSecret);
  await p.getByTestId("sign-out").click();
  await p.getByTestId("sign-in").waitFor();
  assert.ok(!(await p.content()).includes(tenantSecret), "signed out: the revealed value is gone");

  // No plaintext on the wire: every value crossed the websocket sealed.
  assert.ok(frames.some((f) => f.dir === "sent" && f.text.includes("credential.create")), "the frames were recorded");
  assert.ok(frames.some((f) => f.dir === "received" && f.text.includes('"ciphertext"')), "the reveal came back sealed");
  for (const secret of [tenantSecret, userSecret, rotatedSecret]) {
    for (const tail of [secret, secret.slice(0, -4)]) {
      const seen = frames.filter((f) => f.text.includes(tail));
      assert.equal(seen.length, 0, `${tail} crossed the websocket in the clear (${seen.map((f) => f.dir)})`);
    }
  }
  await p.context().close();
});

test("the owner assigns a member a role at a site and takes it away", async () => {
  const inv = cli("owner", ["invite", "create", "--handle", "erin", "--role", "member", "--json"]);
  register("erin", inv.token);
  await owner.getByTestId("nav-users").click();
  await owner.locator('[data-testid="users-table"] tr[data-id="erin"]').waitFor({ timeout: 10000 });
  // The roles offered are those the owner may grant there (all of them, for an owner).
  await owner.getByTestId("in-assign_where").selectOption("site:PHX");
  const offered = await owner.getByTestId("in-assign_role").locator("option").allTextContents();
  for (const r of ["owner", "admin", "operator", "member"]) assert.ok(offered.includes(r), `${r} in ${offered}`);
  await owner.getByTestId("in-assign_handle").fill("erin");
  await owner.getByTestId("in-assign_role").selectOption("operator");
  await owner.getByTestId("assign-submit").click();
  const chip = owner.getByTestId("assignment-erin-operator@default/PHX");
  await chip.waitFor();
  const has = () => cli("owner", ["user", "get", "erin", "--json"]).assignments.some((a) => a.role === "operator" && a.tenant === "default" && a.site === "PHX");
  assert.ok(has(), "the worker holds the site assignment");
  await shot(owner, "21-users-assigned-at-site");
  await owner.getByTestId("unassign-erin-operator@default/PHX").click();
  await owner.getByTestId("confirm-yes").click();
  await chip.waitFor({ state: "detached" });
  assert.ok(!has(), "the worker took it away");
  assert.ok(cli("owner", ["user", "get", "erin", "--json"]).assignments.some((a) => a.role === "member"), "the member assignment stays");
  // The worker's refusal is shown as such.
  await owner.getByTestId("in-assign_handle").fill("nobody-here");
  await owner.getByTestId("assign-submit").click();
  await owner.getByTestId("refusal").filter({ hasText: "not_found" }).first().waitFor();
});

test("the tenant picker switches the tenant the sites view lists", async () => {
  cli("owner", ["tenant", "create", "acme", "--name", "Acme Inc.", "--json"]);
  cli("owner", ["site", "create", "ACME-1", "--tenant", "acme", "--json"]);
  const p = await page("owner-picker");
  await signInWithFile(p, "owner");
  const picker = p.getByTestId("tenant-picker");
  assert.deepEqual((await picker.locator("option").allTextContents()).sort(), ["acme", "default"]);
  assert.equal(await picker.inputValue(), "default");
  await p.getByTestId("nav-sites").click();
  await p.locator('[data-testid="sites-table"] tr[data-id="PHX"]').waitFor();
  assert.equal(await p.locator('[data-testid="sites-table"] tr[data-id="ACME-1"]').count(), 0);
  await picker.selectOption("acme");
  await p.locator('[data-testid="sites-table"] tr[data-id="ACME-1"]').waitFor();
  assert.equal(await p.locator('[data-testid="sites-table"] tr[data-id="PHX"]').count(), 0, "only acme's sites");
  assert.equal(await p.getByTestId("tenant-picker").inputValue(), "acme");
  await p.getByTestId("policy-note").waitFor();
  await shot(p, "22-sites-tenant-picker");
  // The credentials view acts in the picked tenant too.
  await p.getByTestId("nav-credentials").click();
  await p.locator("h3", { hasText: "Tenant acme" }).waitFor();
  await shot(p, "23-credentials-in-acme");
  await picker.selectOption("default");
  await p.getByTestId("nav-sites").click();
  await p.locator('[data-testid="sites-table"] tr[data-id="PHX"]').waitFor();
  await p.context().close();
});

test("an operator sees what its role grants and nothing more", async () => {
  cli("owner", ["user", "set-role", "carol", "operator", "--json"]);
  const op = await page("operator");
  await signInWithFile(op, "carol");
  assert.match(await op.getByTestId("whoami-role").textContent(), /operator in default/);
  const navs = await op.locator("nav a").allTextContents();
  for (const v of ["Users", "Invites", "Sites", "Machines", "Audit", "Roles"]) assert.ok(navs.includes(v), `${v} in ${navs}`);
  assert.ok(!navs.includes("Tenants"), "tenants are platform scope");
  await op.getByTestId("nav-users").click();
  await op.locator('[data-testid="users-table"] tr[data-id="carol"]').waitFor();
  assert.equal(await op.locator('[data-testid^="revoke-"], [data-testid^="delete-"]').count(), 0, "no user:revoke or user:delete");
  await op.getByTestId("nav-invites").click();
  await op.getByTestId("invites-table").waitFor();
  assert.equal(await op.getByTestId("invite-form").count(), 0, "no invite:create");
  await op.getByTestId("nav-sites").click();
  await op.getByTestId("site-form").waitFor();
  await op.getByTestId("nav-audit").click();
  assert.match(await op.getByTestId("live-mode").textContent(), /polled/);
  await shot(op, "13-operator-audit");
  // credential:read but neither reveal nor manage: the tenant's list, masked, no actions.
  await op.getByTestId("nav-credentials").click();
  await credRow(op, "tenant", "ci").waitFor();
  assert.equal(await op.locator('[data-testid="creds-tenant"] button').count(), 0, "no reveal, rotate, revoke or delete of the tenant's");
  assert.deepEqual(await op.getByTestId("in-cred_scope").locator("option").allTextContents(), ["Yours (carol)"]);
  assert.equal(await op.getByTestId("creds-system").count(), 0, "the system scope is platform scope");
  await shot(op, "25-operator-credentials");
  // No user:set_role: no assignment editing.
  await op.getByTestId("nav-users").click();
  await op.locator('[data-testid="users-table"] tr[data-id="carol"]').waitFor();
  assert.equal(await op.getByTestId("assign-form").count(), 0);
  assert.equal(await op.locator('[data-testid^="unassign-"]').count(), 0);
  await op.context().close();
});

test("an identity assigned in two tenants picks the tenant it acts in", async () => {
  // Like an MSP technician: operator in default and in acme, no platform role.
  cli("owner", ["user", "assign", "carol", "operator", "--tenant", "acme", "--json"]);
  const op = await page("technician");
  await signInWithFile(op, "carol");
  const picker = op.getByTestId("tenant-picker");
  assert.deepEqual((await picker.locator("option").allTextContents()).sort(), ["acme", "default"]);
  await op.getByTestId("nav-sites").click();
  await op.locator('[data-testid="sites-table"] tr[data-id="PHX"]').waitFor();
  await picker.selectOption("acme");
  await op.locator('[data-testid="sites-table"] tr[data-id="ACME-1"]').waitFor();
  assert.equal(await op.locator('[data-testid="sites-table"] tr[data-id="PHX"]').count(), 0);
  await shot(op, "26-technician-sites-in-acme");
  // Users: acme's (carol), not default's (erin); no "every tenant" without platform scope.
  await op.getByTestId("nav-users").click();
  await op.locator('[data-testid="users-table"] tr[data-id="carol"]').waitFor();
  assert.equal(await op.locator('[data-testid="users-table"] tr[data-id="erin"]').count(), 0, "only acme's users");
  assert.deepEqual(await op.getByTestId("in-users_tenant").locator("option").allTextContents(), ["in acme"]);
  await picker.selectOption("default");
  await op.getByTestId("nav-users").click();
  await op.locator('[data-testid="users-table"] tr[data-id="erin"]').waitFor();
  await op.context().close();
});

test("a member who registers in the page sees no admin actions", async () => {
  member = await page("member");
  await member.getByTestId("in-invite").fill(memberToken);
  await member.getByTestId("register").click();
  await member.getByTestId("whoami-handle").waitFor();
  assert.equal(await member.getByTestId("whoami-handle").textContent(), "bob");
  await member.getByTestId("save-identity-file").waitFor();
  await member.getByTestId("no-admin").waitFor();
  const navs = await member.locator("nav a").allTextContents();
  assert.deepEqual(navs, ["Overview", "Credentials"], "its own credentials are every user's");
  assert.equal(await member.locator("button").filter({ hasText: /Revoke|Delete|Approve|Reject|Create|Rotate|Cancel/ }).count(), 0);
  await shot(member, "14-member-overview");
  // Its own credentials only: no tenant or system scope, nothing to reveal of others'.
  await member.getByTestId("nav-credentials").click();
  await member.getByTestId("creds-user").waitFor();
  assert.equal(await member.locator('[data-testid="creds-tenant"], [data-testid="creds-system"]').count(), 0);
  assert.deepEqual(await member.getByTestId("in-cred_scope").locator("option").allTextContents(), ["Yours (bob)"]);
  assert.equal(await member.getByTestId("refusal").count(), 0, "the member's own list is not refused");
  await shot(member, "24-member-credentials");
  await storeCredential(member, { scope: "user", provider: "gitlab", name: "bob-token", type: "access_token", value: "glpat-bob-only-4521" });
  // A platform owner lists another user's credentials masked, may delete them, never reveal them.
  await owner.getByTestId("nav-credentials").click();
  await owner.getByTestId("in-cred_owner").fill("bob");
  await owner.getByTestId("cred-owner-list").click();
  const other = owner.locator('[data-testid="creds-other"] tr', { hasText: "bob-token" });
  await other.waitFor();
  assert.equal(await other.getByTestId("masked").textContent(), "••••4521");
  assert.equal(await other.locator("button").filter({ hasText: /Reveal|Rotate|Revoke/ }).count(), 0, "a user's values are its own");
  await shot(owner, "27-another-users-credentials");
  await other.getByTestId("cred-delete").click();
  await owner.getByTestId("confirm-yes").click();
  await owner.locator('[data-testid="creds-other"]', { hasText: "none" }).waitFor();
  // The refusal of an admin command is the bus's or the worker's, shown as such.
  await owner.getByTestId("nav-users").click();
  await owner.locator('[data-testid="users-table"] tr[data-id="bob"]').waitFor({ timeout: 10000 });
});

test("a revoked identity is signed out", async () => {
  await owner.getByTestId("revoke-bob").click();
  await owner.getByTestId("confirm-yes").click();
  await owner.locator('[data-testid="users-table"] tr[data-id="bob"]').getByText("revoked").waitFor();
  await member.getByTestId("signed-out-reason").waitFor({ timeout: 15000 });
  assert.match(await member.getByTestId("signed-out-reason").textContent(), /refused|no longer/);
  await shot(member, "15-member-signed-out");
  await shot(owner, "16-users-after-revoke");
});

test("a refusal from the worker is shown with its code", async () => {
  // The last owner cannot be revoked: the worker says last_owner, and the page shows it.
  await owner.getByTestId("revoke-owner").click();
  await owner.getByTestId("confirm-yes").click();
  await owner.getByTestId("refusal").filter({ hasText: "last_owner" }).first().waitFor();
  await shot(owner, "17-refusal");
});
