// The peer's load driver (issue 7): the workload of `jishi-load run`
// against the automerge-repo sync server of server.mjs.
//
//   node drive.mjs --docs DIR --url ws://127.0.0.1:18090 --cadres 1000 \
//     --concurrency 200 --server-pid PID [--json FILE] [--label NAME]
//
// DIR is what `jishi-load export` wrote: the same documents `run` syncs
// (the same text for the same cadre). Two phases, like `run`:
//
// 1. Load (reported as `write`, not timed as sync): each cadre is one
//    phone: a fresh client Repo without network or storage (the phone's own
//    store is not what is measured), its 14 saved documents imported with
//    repo.import, as `run` has each phone's week in memory before it syncs.
// 2. Sync: each phone gets a WebSocketClientAdapter to the server, is
//    waited on until the server has acknowledged every document, then shut
//    down. At most --concurrency phones at once. Documents/s is documents
//    acknowledged over the wall time of this phase, which ends when the
//    server's POST /flush returns (its storage writes done).
//
// "Acknowledged": automerge-repo records, per document and per remote
// storage id, the heads the remote's sync messages say it has
// (handle.getSyncInfo(storageId).lastHeads, from the sync state's
// theirHeads). A document counts once those heads equal the client's own:
// the server has applied every change of it. The server writes to its
// storage throttled (100 ms) and without fsync, so /flush at the end waits
// for the writes and reports how many documents the server holds; a
// shortfall is an error.
//
// The report is a compatible subset of `jishi-load run --json`: bytes are
// the payloads of repo messages (Automerge sync messages), without the
// CBOR envelope and websocket framing; latency is one cadre's whole sync
// (connect to last acknowledgement), since there are no requests;
// "requests" counts the messages the client sent.

import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { parseArgs } from "node:util"
import { Repo, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const { values: args } = parseArgs({
  options: {
    docs: { type: "string" },
    url: { type: "string", default: "ws://127.0.0.1:18090" },
    cadres: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "200" },
    "server-pid": { type: "string" },
    json: { type: "string" },
    label: { type: "string", default: "automerge-repo" },
    "timeout-secs": { type: "string", default: "120" },
  },
})
if (!args.docs) {
  console.error("usage: node drive.mjs --docs DIR --url ws://127.0.0.1:PORT [--cadres N] [--concurrency C] [--server-pid PID] [--json FILE]")
  process.exit(2)
}
const cadres = Number(args.cadres)
const concurrency = Math.max(1, Number(args.concurrency))
const serverPid = args["server-pid"] ? Number(args["server-pid"]) : undefined
const timeoutMs = Number(args["timeout-secs"]) * 1000
const controlUrl = args.url.replace(/^ws/, "http").replace(/\/+$/, "")

// /proc readings, as load/src/process.rs: null where unavailable.
const USER_HZ = 100
function statusField(pid, field) {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find(l => l.startsWith(`${field}:`))
    return line ? Number(line.split(/\s+/)[1]) * 1024 : null
  } catch {
    return null
  }
}
function cpuSeconds(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = text.slice(text.lastIndexOf(")") + 1).trim().split(/\s+/)
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ
  } catch {
    return null
  }
}
function host() {
  const read = f => {
    try {
      return fs.readFileSync(f, "utf8")
    } catch {
      return ""
    }
  }
  const model = read("/proc/cpuinfo")
    .split("\n")
    .find(l => l.startsWith("model name"))
  const mem = read("/proc/meminfo")
    .split("\n")
    .find(l => l.startsWith("MemTotal"))
  return {
    cores: os.availableParallelism(),
    cpu_model: model ? model.split(":")[1].trim() : "",
    memory_bytes: mem ? Number(mem.split(/\s+/)[1]) * 1024 : null,
    loadavg_before: read("/proc/loadavg").split(/\s+/).slice(0, 3).join(" "),
  }
}
const delta = (before, after) => (before == null || after == null ? null : after - before)
const mib = b => (b == null ? "-" : `${(b / 1048576).toFixed(0)} MiB`)
const secs = s => (s == null ? "-" : `${s.toFixed(1)} s`)

const errors = {}
function tally(kind, message) {
  const t = (errors[kind] ??= { count: 0, example: String(message).slice(0, 300) })
  t.count += 1
}

function sameHeads(a, b) {
  if (!a || !b || a.length !== b.length) return false
  const set = new Set(a)
  return b.every(h => set.has(h))
}

function packageVersion(name) {
  const file = path.join(import.meta.dirname, "node_modules", name, "package.json")
  return JSON.parse(fs.readFileSync(file, "utf8")).version
}

function nearestRank(sorted, p) {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]
}

// 1. Load the exported documents into one client Repo per cadre.
const manifest = JSON.parse(fs.readFileSync(path.join(args.docs, "manifest.json"), "utf8"))
if (manifest.cadres < cadres) {
  console.error(`${args.docs} holds ${manifest.cadres} cadres, fewer than --cadres ${cadres}`)
  process.exit(2)
}
const date = new Date().toISOString().replace(/\.\d+Z$/, "Z")
const hostInfo = host()
let started = performance.now()
const phones = []
let savedBytes = 0
let totalDocs = 0
for (let i = 0; i < cadres; i++) {
  const dir = path.join(args.docs, `cadre${String(i + 1).padStart(5, "0")}`)
  const repo = new Repo({ network: [] })
  const handles = fs
    .readdirSync(dir)
    .filter(f => f.endsWith(".automerge"))
    .sort()
    .map(f => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, f)))
      savedBytes += bytes.byteLength
      const { documentId } = parseAutomergeUrl(generateAutomergeUrl())
      return repo.import(bytes, { docId: documentId })
    })
  totalDocs += handles.length
  phones.push({ repo, handles })
  if ((i + 1) % 100 === 0) console.error(`[load ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] cadres ${i + 1}/${cadres}`)
}
const readSecs = (performance.now() - started) / 1000
console.error(`loaded ${totalDocs} documents of ${cadres} cadres in ${readSecs.toFixed(1)}s`)

// 2. Sync.
const progress = { done: 0, docs: 0, messages: 0, errors: 0, rssMax: 0 }

/** One phone: connect its Repo, until the server has all its documents. */
async function syncCadre({ repo, handles }) {
  const out = { total: handles.length, acked: 0, messagesUp: 0, messagesDown: 0, bytesUp: 0, bytesDown: 0, ms: 0, failure: null }
  const t0 = performance.now()
  const adapter = new WebSocketClientAdapter(args.url)
  const send = adapter.send.bind(adapter)
  adapter.send = message => {
    out.messagesUp += 1
    out.bytesUp += message.data?.byteLength ?? 0
    progress.messages += 1
    send(message)
  }
  adapter.on("message", message => {
    out.messagesDown += 1
    out.bytesDown += message.data?.byteLength ?? 0
  })
  const peer = new Promise(resolve => repo.networkSubsystem.once("peer", ({ peerId }) => resolve(peerId)))
  repo.networkSubsystem.addNetworkAdapter(adapter)
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not acknowledged within ${timeoutMs / 1000} s`)), timeoutMs)
  })
  try {
    const storageId = await Promise.race([peer.then(p => repo.getStorageIdOfPeer(p)), timeout])
    if (!storageId) throw new Error("the server announced no storage id")
    await Promise.race([
      Promise.all(
        handles.map(
          handle =>
            new Promise(resolve => {
              const check = () => {
                if (sameHeads(handle.getSyncInfo(storageId)?.lastHeads, handle.heads())) {
                  handle.off("remote-heads", check)
                  out.acked += 1
                  progress.docs += 1
                  resolve()
                }
              }
              handle.on("remote-heads", check)
              check()
            }),
        ),
      ),
      timeout,
    ])
  } catch (e) {
    out.failure = e
    if (progress.errors < 3) console.error(`cadre failed: ${e.stack ?? e}`)
  } finally {
    clearTimeout(timer)
    out.ms = performance.now() - t0
    // Closing a socket still connecting makes ws emit an error event.
    adapter.socket?.on("error", e => (out.failure ??= e))
    await repo.shutdown().catch(e => (out.failure ??= e))
  }
  return out
}

const serverRssBefore = serverPid ? statusField(serverPid, "VmRSS") : null
const serverCpuBefore = serverPid ? cpuSeconds(serverPid) : null
const ownCpuBefore = cpuSeconds(process.pid)
started = performance.now()
let ticks = 0
const watcher = setInterval(() => {
  const rss = serverPid ? statusField(serverPid, "VmRSS") : null
  if (rss) progress.rssMax = Math.max(progress.rssMax, rss)
  if (++ticks % 4 === 0) {
    console.error(
      `[sync ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] cadres ${progress.done}/${cadres}, docs ${progress.docs}, messages ${progress.messages}, errors ${progress.errors}` +
        (rss ? `, server RSS ${Math.round(rss / 1048576)} MiB` : ""),
    )
  }
}, 250)

// A socket error the adapter does not handle (e.g. ECONNRESET when the
// server dies) would end the process without a report: count it, start no
// more cadres, and let those in flight fail by their timeout.
let aborted = false
process.on("uncaughtException", e => {
  tally("sync: uncaught (run aborted)", e.stack ?? e)
  if (!aborted) console.error(`aborting the run: ${e.message ?? e}`)
  aborted = true
})

const outcomes = []
let next = 0
async function worker() {
  while (next < phones.length && !aborted) {
    const phone = phones[next]
    phones[next++] = null // Done with it after its sync: let it go.
    const outcome = await syncCadre(phone)
    progress.done += 1
    if (outcome.failure) progress.errors += 1
    outcomes.push(outcome)
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, phones.length) }, worker))
const ackedSecs = (performance.now() - started) / 1000
let held = null
try {
  const response = await fetch(`${controlUrl}/flush`, { method: "POST" })
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  held = (await response.json()).documents
} catch (e) {
  tally("flush: failed", e)
}
const syncSecs = (performance.now() - started) / 1000
clearInterval(watcher)
const serverCpuAfter = serverPid ? cpuSeconds(serverPid) : null
const ownCpuAfter = cpuSeconds(process.pid)

const sync = {
  secs: syncSecs,
  secs_acknowledged: ackedSecs,
  cadres: phones.length,
  cadres_complete: 0,
  documents: 0,
  documents_left: 0,
  documents_held_by_server: held,
  requests: 0,
  messages_up: 0,
  messages_down: 0,
  round_trips_mean: null,
  round_trips_max: null,
  bytes_up: 0,
  bytes_down: 0,
  refused: 0,
  load_cpu_secs: delta(ownCpuBefore, ownCpuAfter),
}
const latencies = []
for (const o of outcomes) {
  sync.documents += o.acked
  sync.documents_left += o.total - o.acked
  sync.messages_up += o.messagesUp
  sync.messages_down += o.messagesDown
  sync.bytes_up += o.bytesUp
  sync.bytes_down += o.bytesDown
  latencies.push(o.ms)
  if (o.failure) tally(`sync: ${o.failure.message.startsWith("not acknowledged") ? "timeout" : "client"}`, o.failure.message)
  else if (o.acked === o.total) sync.cadres_complete += 1
}
for (const phone of phones) if (phone) sync.documents_left += phone.handles.length
if (held != null && held < sync.documents) {
  tally("server: documents missing after flush", `${sync.documents} acknowledged, the server holds ${held}`)
}
sync.requests = sync.messages_up
sync.documents_per_sec = sync.documents / Math.max(syncSecs, 1e-9)
const perDoc = b => b / Math.max(sync.documents, 1)
sync.bytes_up_per_doc = perDoc(sync.bytes_up)
sync.bytes_down_per_doc = perDoc(sync.bytes_down)
latencies.sort((a, b) => a - b)
sync.latency_ms = {
  p50: nearestRank(latencies, 50),
  p90: nearestRank(latencies, 90),
  p99: nearestRank(latencies, 99),
  max: latencies.at(-1) ?? 0,
}
const server = serverPid
  ? {
      pid: serverPid,
      peak_rss_bytes: statusField(serverPid, "VmHWM"),
      rss_before_sync_bytes: serverRssBefore,
      rss_max_during_sync_bytes: progress.rssMax || null,
      rss_end_bytes: statusField(serverPid, "VmRSS"),
      cpu_secs_sync: delta(serverCpuBefore, serverCpuAfter),
    }
  : null

const report = {
  label: args.label,
  date,
  url: args.url,
  host: hostInfo,
  cadres,
  concurrency,
  week: manifest.week,
  peer: {
    node: process.version,
    "@automerge/automerge": packageVersion("@automerge/automerge"),
    "@automerge/automerge-repo": packageVersion("@automerge/automerge-repo"),
    "@automerge/automerge-repo-network-websocket": packageVersion("@automerge/automerge-repo-network-websocket"),
    "@automerge/automerge-repo-storage-nodefs": packageVersion("@automerge/automerge-repo-storage-nodefs"),
    acknowledged:
      "the server's heads (sync state theirHeads) equal the client's, per document; then POST /flush (automerge-repo: storage writes done; samod: counts documents on disk)",
  },
  write: {
    secs: readSecs,
    documents: totalDocs,
    saved_bytes_mean: savedBytes / Math.max(totalDocs, 1),
  },
  sync,
  server,
  errors,
}

const errorCount = Object.values(errors).reduce((n, e) => n + e.count, 0)
const lines = [
  `== peer: ${report.label} (${date}) ==`,
  `host: ${hostInfo.cores} cores, ${hostInfo.cpu_model}, ${mib(hostInfo.memory_bytes)} memory, load before ${hostInfo.loadavg_before}`,
  `client: node ${process.version}, automerge-repo ${report.peer["@automerge/automerge-repo"]}, automerge ${report.peer["@automerge/automerge"]}`,
  `cadres ${cadres} (concurrency ${concurrency}); ${totalDocs} documents loaded in ${readSecs.toFixed(1)} s, saved document ${report.write.saved_bytes_mean.toFixed(0)} B (mean)`,
  `sync:   ${sync.documents} documents in ${syncSecs.toFixed(2)} s = ${sync.documents_per_sec.toFixed(0)} documents/s (all acknowledged at ${ackedSecs.toFixed(2)} s, flushed after); ${sync.cadres_complete}/${sync.cadres} cadres complete, ${sync.documents_left} documents left, server holds ${held ?? "?"}`,
  `        messages: ${sync.messages_up} up, ${sync.messages_down} down (${(sync.messages_up / Math.max(sync.documents, 1)).toFixed(2)} up per document)`,
  `        payload bytes per document: up ${sync.bytes_up_per_doc.toFixed(0)}, down ${sync.bytes_down_per_doc.toFixed(0)} (total up ${(sync.bytes_up / 1048576).toFixed(1)} MiB, down ${(sync.bytes_down / 1048576).toFixed(1)} MiB)`,
  `        one cadre's sync: p50 ${sync.latency_ms.p50.toFixed(1)} ms, p90 ${sync.latency_ms.p90.toFixed(1)} ms, p99 ${sync.latency_ms.p99.toFixed(1)} ms, max ${sync.latency_ms.max.toFixed(1)} ms`,
]
if (server) {
  lines.push(
    `server: pid ${server.pid}, peak RSS (VmHWM) ${mib(server.peak_rss_bytes)}; RSS before sync ${mib(server.rss_before_sync_bytes)}, max during sync ${mib(server.rss_max_during_sync_bytes)}, at end ${mib(server.rss_end_bytes)}; CPU during sync ${secs(server.cpu_secs_sync)}`,
  )
}
lines.push(`load tool CPU during sync: ${secs(sync.load_cpu_secs)}`, `errors: ${errorCount}`)
for (const [kind, e] of Object.entries(errors)) lines.push(`  ${kind} x${e.count}: ${e.example}`)
console.log(lines.join("\n"))
if (args.json) {
  const text = JSON.stringify(report, null, 2)
  if (args.json === "-") console.log(text)
  else fs.writeFileSync(args.json, text + "\n")
}
// Errors are in the report, as with jishi-load run.
process.exit(0)
