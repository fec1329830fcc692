// A Jishi phone written from docs/sync-protocol.md alone, with the
// JavaScript Automerge and no code generated from the Rust one: it logs in,
// receives a cadre's documents, adds an entry to a day it received and
// starts a new day (today) from the genesis the document describes, and
// checks that the server accepted both and reads them back as written. It
// also writes a time as a plain JS string (a text object, which the schema
// refuses) and expects the refusal the document names. With flag bit 1 it
// receives the cadre's 督办 items, adds a progress step, and expects a
// confirmation of its own item and a change to a standing step refused.
//
//   node client.mjs BASE_URL LOGIN PASSWORD
//
// Exits 0 when every check holds; prints what it did.
import * as A from "@automerge/automerge";
import { randomBytes } from "node:crypto";

const [BASE, LOGIN, PASSWORD] = process.argv.slice(2);
if (!PASSWORD) {
  console.error("usage: node client.mjs BASE_URL LOGIN PASSWORD");
  process.exit(2);
}
const GENESIS_ACTOR = "6a697368692d67656e657369732d7631";

function fail(message) {
  console.error(`FAILED: ${message}`);
  process.exit(1);
}
function check(ok, message) {
  if (!ok) fail(message);
  console.log(`ok: ${message}`);
}

// ---- the batch (docs/sync-protocol.md, "Batch encoding") ----------------

function uleb(n, out) {
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
}
function bytes(b, out) {
  uleb(b.length, out);
  for (const x of b) out.push(x);
}
function encodeBatch(cursor, entries) {
  // Flags: bit 1, "reads items" (docs/sync-protocol.md, "Items").
  const out = [1, 2];
  uleb(cursor, out);
  uleb(entries.length, out);
  for (const { doc, message } of entries) {
    bytes(new TextEncoder().encode(doc), out);
    out.push(0);
    bytes(message, out);
  }
  return Uint8Array.from(out);
}
function decodeBatch(buf) {
  let pos = 0;
  const byte = () => {
    if (pos >= buf.length) throw new Error("truncated reply");
    return buf[pos++];
  };
  const readUleb = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = byte();
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  const readBytes = () => {
    const n = Number(readUleb());
    const b = buf.subarray(pos, pos + n);
    if (b.length !== n) throw new Error("truncated reply");
    pos += n;
    return b;
  };
  const version = byte();
  if (version !== 1) throw new Error(`batch version ${version}`);
  const flags = byte();
  const cursor = readUleb();
  const count = Number(readUleb());
  const entries = [];
  const text = (b) => new TextDecoder().decode(b);
  for (let i = 0; i < count; i++) {
    const doc = text(readBytes());
    const tag = byte();
    if (tag === 0) entries.push({ doc, message: readBytes() });
    else if (tag === 1) entries.push({ doc, refused: { code: text(readBytes()), text: text(readBytes()) } });
    else throw new Error(`entry tag ${tag}`);
  }
  return { more: (flags & 1) !== 0, cursor, entries };
}

// ---- the phone ------------------------------------------------------------

const actor = randomBytes(16).toString("hex");
const deviceId = `js-${randomBytes(6).toString("hex")}`;

async function json(path, body, token) {
  const r = await fetch(`${BASE}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) fail(`${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

const session = await json("/api/v1/auth/login", {
  login: LOGIN,
  password: PASSWORD,
  device_id: deviceId,
  device_name: "JS Automerge client",
  actors: [actor],
});
check(session.user_id && session.access_token, `logged in as ${session.user_id} (device ${deviceId})`);
const user = session.user_id;

const docs = new Map(); // id -> Automerge doc
const states = new Map(); // id -> sync state
let cursor = 0n;

/** One session (docs/sync-protocol.md, "A session"): send what the server
 * lacks, apply the replies, until nothing moves. Returns the refusals. */
async function sync(pending) {
  const refusals = [];
  for (let round = 0; round < 24; round++) {
    const entries = [];
    for (const id of new Set([...states.keys(), ...pending])) {
      if (!docs.has(id)) continue;
      if (!states.has(id)) states.set(id, A.initSyncState());
      const [state, message] = A.generateSyncMessage(docs.get(id), states.get(id));
      states.set(id, state);
      if (message) entries.push({ doc: id, message });
    }
    pending = [];
    const r = await fetch(`${BASE}/api/v1/sync`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${session.access_token}`,
        "content-type": "application/vnd.jishi.sync-batch",
      },
      body: encodeBatch(cursor, entries),
    });
    if (r.status === 503) {
      const wait = Number(r.headers.get("retry-after") ?? "1");
      await new Promise((ok) => setTimeout(ok, wait * 1000));
      continue;
    }
    if (r.status !== 200) fail(`sync: ${r.status} ${await r.text()}`);
    const reply = decodeBatch(new Uint8Array(await r.arrayBuffer()));
    for (const e of reply.entries) {
      if (e.refused) {
        if (e.refused.code === "deferred") {
          states.delete(e.doc);
          pending.push(e.doc);
          continue;
        }
        refusals.push({ doc: e.doc, ...e.refused });
        states.delete(e.doc);
        continue;
      }
      const doc = docs.get(e.doc) ?? A.init({ actor });
      const state = states.get(e.doc) ?? A.initSyncState();
      const [next, nextState] = A.receiveSyncMessage(doc, state, e.message);
      docs.set(e.doc, next);
      states.set(e.doc, nextState);
    }
    cursor = reply.cursor;
    if (entries.length === 0 && reply.entries.length === 0 && !reply.more && pending.length === 0) {
      return refusals;
    }
  }
  fail("the session did not settle in 24 rounds");
}

// 1. Receive the cadre's documents.
await sync([]);
const diaries = [...docs.keys()].filter((id) => id.startsWith(`diary:${user}:`)).sort();
check(diaries.length > 0, `received ${docs.size} documents, ${diaries.length} diaries of ${user}`);
const received = diaries[diaries.length - 1];
const before = A.toJS(docs.get(received));
check(String(before.owner) === user && typeof before.entries === "object", `${received} reads as a diary of ${user}`);

// 2. An entry on a day received (docs/sync-protocol.md, "The schema").
const now = Date.now();
/** Make entry `id` in `d.entries`, field by field: JS Automerge 3.5 turns a
 * `Uint` or `RawString` nested in an object literal into a map, so the
 * fields are set one by one on the new map (docs/sync-protocol.md, "The
 * schema"). `plainTime` writes the time as a plain JS string (a text
 * object), which the schema refuses. */
function putEntry(d, id, time, text, plainTime = false) {
  d.entries[id] = {};
  const e = d.entries[id];
  e.schema = new A.Uint(1);
  e.created_at = now;
  e.updated_at = now;
  e.deleted = false;
  e.time = plainTime ? time : new A.RawString(time);
  e.category = new A.RawString("visit");
  e.place = new A.RawString("青山村");
  e.households = 2;
  e.text = text; // a plain string: a text object
  e.photos = {};
}
const entryId = randomBytes(16).toString("hex");
docs.set(
  received,
  A.change(docs.get(received), { time: Math.floor(now / 1000) }, (d) => {
    putEntry(d, entryId, "09:30", "JS 客户端补记：走访两户，了解用水情况。");
  }),
);

// 3. A new day: today (UTC+8), from the genesis of "Genesis".
const today = new Date(now + 8 * 3600 * 1000).toISOString().slice(0, 10);
const newDay = `diary:${user}:${today}`;
function genesis(kind, owner, period) {
  let d = A.init({ actor: GENESIS_ACTOR });
  return A.change(d, { time: 0 }, (doc) => {
    doc.kind = new A.RawString(kind);
    doc.schema = new A.Uint(1);
    doc.owner = new A.RawString(owner);
    if (kind === "plan") doc.month = new A.RawString(period);
    else doc.date = new A.RawString(period);
    if (kind === "diary") {
      doc.entries = {};
      doc.summary = "";
    }
    if (kind === "night") doc.activities = {};
    if (kind === "plan") {
      doc.tasks = {};
      doc.summary = "";
    }
    doc.comments = {};
  });
}
check(
  A.getHeads(genesis("diary", "u1", "2026-11-23"))[0] ===
    "e3fdbec5661d7ec00b3e157fe9f6fb2906a1a0299ced24e9a5a56126dc53ecd8",
  "the genesis of diary:u1:2026-11-23 has the documented hash",
);
const newEntryId = randomBytes(16).toString("hex");
const existing = docs.get(newDay);
let day = existing ?? A.load(A.save(genesis("diary", user, today)), { actor });
day = A.change(day, { time: Math.floor(now / 1000) }, (d) => {
  putEntry(d, newEntryId, "08:00", "JS 客户端：今日入户走访三户。");
  d.summary.length === 0 && A.splice(d, ["summary"], 0, 0, "今日小结：走访三户。");
});
docs.set(newDay, day);

const refusals = await sync([received, newDay]);
check(refusals.length === 0, `both documents accepted (${JSON.stringify(refusals)})`);

// 4. Read back through the JSON API as the server stored them.
for (const [id, key, time, text] of [
  [received, entryId, "09:30", "JS 客户端补记：走访两户，了解用水情况。"],
  [newDay, newEntryId, "08:00", "JS 客户端：今日入户走访三户。"],
]) {
  const record = await json(`/api/v1/documents/${encodeURIComponent(id)}`, undefined, session.access_token);
  const e = record.entries.find((x) => x.id === key);
  check(
    e && e.time === time && e.category === "visit" && e.text === text && e.households === 2 && !e.deleted,
    `${id}: the server reads the new entry as written (time ${e?.time}, category ${e?.category})`,
  );
}

// 5. What the schema refuses: a time written as a plain JS string (a text
// object, JavaScript's default), on a day of its own.
const yesterday = new Date(now + 8 * 3600 * 1000 - 86400 * 1000).toISOString().slice(0, 10);
const badDay = `diary:${user}:${yesterday}`;
if (!docs.has(badDay)) docs.set(badDay, A.load(A.save(genesis("diary", user, yesterday)), { actor }));
docs.set(
  badDay,
  A.change(docs.get(badDay), (d) => {
    putEntry(d, randomBytes(16).toString("hex"), "10:00", "x", true);
  }),
);
const refused = await sync([badDay]);
check(
  refused.length === 1 && refused[0].code === "forbidden_change" && /scalar string/.test(refused[0].text),
  `a time as a text object is refused: ${refused[0]?.code}: ${refused[0]?.text}`,
);
docs.delete(badDay);

// 6. Items others assign (docs/sync-protocol.md, "Items"): the demo hands
// up to four cadres of each township a 督办 item; this client set flag bit
// 1, so the cadre's items came down with the records.
const mine = [...docs.entries()]
  .filter(([id, d]) => id.startsWith("item:") && String(A.toJS(d).brief?.responsible) === user)
  .map(([id]) => id)
  .sort();
check(mine.length > 0, `received ${mine.length} items naming ${user} responsible`);
const itemId = mine[0];
const item = A.toJS(docs.get(itemId));
check(
  String(item.kind) === "item" && String(item.brief.title).length > 0 && String(item.brief.issuer) !== user,
  `${itemId} reads as an item issued by ${item.brief.issuer}: ${item.brief.title}`,
);
/** Make step `id` in `d.steps`, field by field, as the table says. */
function putStep(d, id, action, by, role, at, text) {
  d.steps[id] = {};
  const s = d.steps[id];
  s.schema = new A.Uint(1);
  s.action = new A.RawString(action);
  s.by = new A.RawString(by);
  s.role = new A.RawString(role);
  s.at = at;
  s.text = text; // a text object
  s.photos = {};
}
/** A step dated after every step held (and after the issue). */
function nextAt(i) {
  const last = Math.max(Number(i.brief.issued_at), ...Object.values(i.steps ?? {}).map((x) => Number(x.at)));
  return Math.max(Date.now(), last + 1);
}
const stepId = randomBytes(16).toString("hex");
docs.set(
  itemId,
  A.change(docs.get(itemId), (d) => {
    putStep(d, stepId, "progress", user, "cadre", nextAt(item), "JS 客户端：已入户核实，正在整改。");
  }),
);
const itemRefusals = await sync([itemId]);
check(itemRefusals.length === 0, `a progress step is accepted (${JSON.stringify(itemRefusals)})`);
const view = await json(`/api/v1/items/${encodeURIComponent(itemId)}`, undefined, session.access_token);
const seen = JSON.stringify(view);
check(seen.includes("JS 客户端：已入户核实，正在整改。"), `the server reads the step back through the API`);

// 7. What the rules refuse: the responsible person confirming (销号) their
// own item, and a step that changes one that stands. Each is refused
// whole ("leaves it aside"): the client goes back to the copy it held.
for (const [what, mutate, says] of [
  [
    "confirming one's own item",
    (d, i) => putStep(d, randomBytes(16).toString("hex"), "confirm", user, "cadre", nextAt(i), "自己销号"),
    /may not take the step/,
  ],
  ["changing a step that stands", (d) => { d.steps[stepId].at = 1; }, /never changed/],
]) {
  const good = docs.get(itemId);
  const held = A.toJS(good);
  docs.set(itemId, A.change(A.clone(good, { actor }), (d) => mutate(d, held)));
  const r = await sync([itemId]);
  check(
    r.length === 1 && r[0].code === "forbidden_change" && says.test(r[0].text),
    `${what} is refused: ${r[0]?.code}: ${r[0]?.text}`,
  );
  docs.set(itemId, good);
  states.delete(itemId);
}
const after = await sync([itemId]);
check(after.length === 0, `the copy held before the refusals syncs cleanly (${JSON.stringify(after)})`);
// 8. Where the cadre is (docs/sync-protocol.md, `status`): a map made anew
// on today's diary, shown on the public card by the village's name.
const me = await json("/api/v1/me", undefined, session.access_token);
const card = await json("/api/v1/me/card", undefined, session.access_token);
docs.set(
  newDay,
  A.change(docs.get(newDay), (d) => {
    d.status = {};
    d.status.kind = new A.RawString("in_village");
    d.status.village = new A.RawString(String(me.unit_id));
    d.status.at = Date.now();
  }),
);
const statusRefusals = await sync([newDay]);
check(statusRefusals.length === 0, `a status is accepted (${JSON.stringify(statusRefusals)})`);
const shown = await json(`/api/v1/cards/${card.card_id}`);
check(
  shown.status?.kind === "in_village" && shown.status?.label === "下村",
  `the public card shows the status: ${JSON.stringify(shown.status)}`,
);
check(!JSON.stringify(shown).includes(String(me.login)), "the public card does not show the login");
// A position in the status is refused whole.
{
  const good = docs.get(newDay);
  docs.set(newDay, A.change(A.clone(good, { actor }), (d) => {
    d.status = {};
    d.status.kind = new A.RawString("in_village");
    d.status.lat = 27.5;
    d.status.at = Date.now();
  }));
  const r = await sync([newDay]);
  check(
    r.length === 1 && r[0].code === "forbidden_change" && /status\/lat/.test(r[0].text),
    `a position in the status is refused: ${r[0]?.code}: ${r[0]?.text}`,
  );
  docs.set(newDay, good);
  states.delete(newDay);
  const again = await sync([newDay]);
  check(again.length === 0, `the diary held before syncs cleanly (${JSON.stringify(again)})`);
}
console.log("the JS client followed the protocol document: accepted");
