// The peer's server (issue 7): a standard automerge-repo sync server, as in
// automerge-repo's examples/sync-server and automerge-repo-sync-server: one
// Repo with a NodeFSStorageAdapter on a folder and a NodeWSServerAdapter on
// a loopback port, sharing nothing on its own (sharePolicy false: it stores
// and answers what clients send).
//
//   node server.mjs --port 18090 --data DIR
//
// Besides the websocket it answers two plain HTTP requests on the same
// port, for the driver and the script, not for clients:
//   GET  /healthz  200 once the repo is up
//   POST /flush    waits for repo.flush() (every pending storage write done)
//                  and answers {"documents": N}, N the documents the repo
//                  holds with at least one change
//
// Only 127.0.0.1: this is a benchmark peer, not a service.

import http from "node:http"
import os from "node:os"
import { parseArgs } from "node:util"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "18090" },
    data: { type: "string" },
  },
})
if (!args.data) {
  console.error("usage: node server.mjs --port PORT --data DIR")
  process.exit(2)
}

const wss = new WebSocketServer({ noServer: true })
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(args.data),
  peerId: `storage-server-${os.hostname()}`,
  // Do not announce documents to clients; answer those they sync.
  sharePolicy: async () => false,
})

function documentsHeld() {
  let n = 0
  for (const handle of Object.values(repo.handles)) {
    try {
      if (handle.isReady() && handle.heads().length > 0) n += 1
    } catch {
      // A handle without a document yet: not held.
    }
  }
  return n
}

const server = http.createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n")
  } else if (req.method === "POST" && req.url === "/flush") {
    try {
      await repo.flush()
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ documents: documentsHeld() }) + "\n")
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${e}\n`)
    }
  } else {
    res.writeHead(404).end()
  }
})
server.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, ws => wss.emit("connection", ws, request))
})
server.listen(Number(args.port), "127.0.0.1", () => {
  console.error(`automerge-repo sync server on 127.0.0.1:${args.port}, storage ${args.data}`)
})

function stop() {
  server.close()
  wss.close()
  repo.shutdown().finally(() => process.exit(0))
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
