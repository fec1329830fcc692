// A phone's day, driven through the generated Kotlin bindings (suspend calls
// in coroutines) against a live `jishi serve`: log in online, write offline
// (two diaries, a night log, photos), fail to sync offline without losing
// anything, restart online and sync, then a second phone of the same cadre
// (its HTTP through a Kotlin transport on java.net.http) and a supervisor's
// phone see the records, the supervisor's comment reaches the first phone's
// change listener through live() without a sync call or polling, a request
// a stalled server never answers is interrupted by a CancelToken and by
// cancelling its coroutine, and bad input is refused with the right field.
// Run by run.sh beside this file:
//
//   java -Djna.library.path=target/debug -cp … ScenarioKt <serverUrl> <workdir>
//
// Prints each step; any failed check ends the program with status 1.

import cn.jishi.ffi.ActivityInput
import cn.jishi.ffi.CancelToken
import cn.jishi.ffi.Category
import cn.jishi.ffi.ChangeListener
import cn.jishi.ffi.ChangeOrigin
import cn.jishi.ffi.DocChange
import cn.jishi.ffi.HttpHeader
import cn.jishi.ffi.HttpRequest
import cn.jishi.ffi.HttpResponse
import cn.jishi.ffi.HttpStreamSink
import cn.jishi.ffi.HttpTransport
import cn.jishi.ffi.ItemStepAction
import cn.jishi.ffi.StatusListener
import cn.jishi.ffi.SyncStatus
import cn.jishi.ffi.TaskInput
import cn.jishi.ffi.TaskKind
import cn.jishi.ffi.TransportException
import cn.jishi.ffi.DiaryView
import cn.jishi.ffi.EntryInput
import cn.jishi.ffi.GeoPoint
import cn.jishi.ffi.JishiClient
import cn.jishi.ffi.JishiException
import cn.jishi.ffi.LogLevel
import cn.jishi.ffi.LogSink
import cn.jishi.ffi.NightKind
import cn.jishi.ffi.PhotoSize
import cn.jishi.ffi.PhotoDecoder
import cn.jishi.ffi.DecodedPhoto
import cn.jishi.ffi.SecretStore
import cn.jishi.ffi.RefusedDocument
import cn.jishi.ffi.SyncObserver
import cn.jishi.ffi.SyncProgress
import cn.jishi.ffi.SyncSummary
import cn.jishi.ffi.UploadStatus
import cn.jishi.ffi.Whereabouts
import cn.jishi.ffi.setLogSink
import java.awt.BasicStroke
import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.net.http.HttpClient
import java.time.Duration
import java.util.Collections
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CopyOnWriteArrayList
import javax.imageio.ImageIO
import kotlin.system.exitProcess
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

const val DEAD_URL = "http://127.0.0.1:1"
const val PASSWORD = "kotlin-scenario-password"
const val DAY1 = "2026-11-17"
const val DAY2 = "2026-11-18"

class CheckFailed(message: String) : Exception(message)

var steps = 0
var checks = 0

fun step(name: String) {
    steps += 1
    println("[step $steps] $name")
}

fun check(ok: Boolean, what: () -> String) {
    if (!ok) throw CheckFailed(what())
    checks += 1
}

fun <T> checkEq(actual: T, expected: T, what: String) =
    check(actual == expected) { "$what: expected <$expected>, got <$actual>" }

inline fun <reified E : Throwable> expectThrows(what: String, block: () -> Any?): E {
    val result = try {
        block()
    } catch (e: Throwable) {
        if (e is E) {
            checks += 1
            return e
        }
        throw CheckFailed("$what: expected ${E::class.qualifiedName}, got $e")
    }
    throw CheckFailed("$what: expected ${E::class.qualifiedName}, returned <$result>")
}

/** Receives the library's log lines. */
object Logs : LogSink {
    val lines = ConcurrentLinkedQueue<String>()
    override fun log(level: LogLevel, target: String, message: String) {
        lines.add("$level $target: $message")
    }
}

/** Records what `sync()` reports. */
class Progress : SyncObserver {
    val events: MutableList<SyncProgress> = Collections.synchronizedList(mutableListOf())
    override fun onProgress(progress: SyncProgress) {
        events.add(progress)
    }
}

/** A camera file: an 800x600 JPEG with some drawing, different per `seed`. */
fun cameraJpeg(file: File, seed: Int): File {
    val img = BufferedImage(800, 600, BufferedImage.TYPE_INT_RGB)
    val g = img.createGraphics()
    g.color = Color(40 + 60 * seed, 140, 200 - 50 * seed)
    g.fillRect(0, 0, 800, 600)
    g.color = Color(250, 220, 60)
    g.fillOval(80 + 120 * seed, 90, 320, 220)
    g.color = Color.WHITE
    g.stroke = BasicStroke(10f)
    for (i in 0 until 6) g.drawLine(0, 600 - 90 * i, 800, 90 * i * seed)
    g.color = Color(30, 90, 40)
    g.fillRect(0, 470, 800, 130)
    g.dispose()
    check(ImageIO.write(img, "jpg", file)) { "no JPEG writer in this JVM" }
    check(file.length() > 1000) { "$file is only ${file.length()} bytes" }
    return file
}

/**
 * The app's own network stack: java.net.http (on Android OkHttp, on iOS
 * URLSession), so the platform's trust store, proxies and VPN apply.
 */
class JdkTransport : HttpTransport {
    private val client: HttpClient = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(15))
        .build()
    val requests: MutableList<String> = CopyOnWriteArrayList()

    private fun build(r: HttpRequest): java.net.http.HttpRequest {
        val b = java.net.http.HttpRequest.newBuilder(URI.create(r.url))
        for (h in r.headers) b.header(h.name, h.value)
        val body = if (r.body.isEmpty()) {
            java.net.http.HttpRequest.BodyPublishers.noBody()
        } else {
            java.net.http.HttpRequest.BodyPublishers.ofByteArray(r.body)
        }
        return b.method(r.method, body).build()
    }

    private fun headers(h: java.net.http.HttpHeaders) =
        h.map().flatMap { (name, values) -> values.map { HttpHeader(name, it) } }

    override fun send(request: HttpRequest): HttpResponse {
        requests.add("${request.method} ${URI.create(request.url).path}")
        try {
            val r = client.send(build(request), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
            val body = r.body()
            if (body.size.toULong() > request.maxResponseBytes) {
                throw TransportException.Network("reply longer than ${request.maxResponseBytes} bytes")
            }
            return HttpResponse(r.statusCode().toUShort(), headers(r.headers()), body)
        } catch (e: IOException) {
            throw TransportException.Network(e.toString())
        }
    }

    override fun stream(request: HttpRequest, sink: HttpStreamSink) {
        requests.add("${request.method} ${URI.create(request.url).path} (stream)")
        try {
            val r = client.send(build(request), java.net.http.HttpResponse.BodyHandlers.ofInputStream())
            r.body().use { input ->
                if (!sink.onHead(r.statusCode().toUShort(), headers(r.headers()))) return
                val buf = ByteArray(8192)
                while (true) {
                    val n = input.read(buf)
                    if (n < 0 || !sink.onData(buf.copyOf(n))) return
                }
            }
        } catch (e: IOException) {
            throw TransportException.Network(e.toString())
        }
    }
}

/** Hears data changes. */
class Changes : ChangeListener {
    val heard: MutableList<DocChange> = CopyOnWriteArrayList()
    @Volatile var waiting: Pair<(DocChange) -> Boolean, CompletableDeferred<DocChange>>? = null
    override fun onChange(changes: List<DocChange>) {
        heard.addAll(changes)
        val w = waiting ?: return
        changes.firstOrNull(w.first)?.let { w.second.complete(it) }
    }
}

/** Hears the sync status. */
class Statuses : StatusListener {
    @Volatile var live = CompletableDeferred<SyncStatus>()
    override fun onStatus(status: SyncStatus) {
        if (status.live) live.complete(status)
    }
}

/**
 * A server that takes connections and never answers (a stalled network);
 * `accepted` completes when a connection came.
 */
class BlackHole : AutoCloseable {
    private val socket = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val held = CopyOnWriteArrayList<Socket>()
    @Volatile var accepted = CompletableDeferred<Unit>()
    val url = "http://127.0.0.1:${socket.localPort}"
    private val thread = Thread {
        try {
            while (true) {
                held.add(socket.accept())
                accepted.complete(Unit)
            }
        } catch (_: IOException) {
        }
    }.apply { isDaemon = true; start() }
    override fun close() {
        socket.close()
        held.forEach { it.close() }
    }
}

/** The field's name on screen. */
fun fieldName(field: String) = when (field) {
    "text" -> "内容"
    "time" -> "时间"
    "date" -> "日期"
    "password" -> "密码"
    "server_url" -> "服务器地址"
    else -> field
}

/**
 * What the app shows for an error: its class and stable code, never the
 * English detail. The `when` over the sealed class is exhaustive: a new
 * case in the library fails this compile.
 */
fun userMessage(e: JishiException): String = when (e) {
    is JishiException.Validation -> when (e.code) {
        "too_long" -> "${fieldName(e.field)}太长了，最多${e.limit}个字"
        "format" -> "${fieldName(e.field)}格式不对"
        "not_yet" -> "还没到这一天，不能提前填写"
        "wrong_password" -> "账号或密码错误"
        "photo_unreadable" -> "照片无法读取，请重新拍摄"
        "photo_too_large" -> "照片太大"
        else -> "${fieldName(e.field)}填写有误"
    }
    is JishiException.Offline -> "没有网络，记录已保存在手机上，有网时自动上传"
    is JishiException.LoginRequired -> when (e.code) {
        "device_revoked" -> "这台手机的登录已被管理员停用，请重新登录，未上传的记录会一并上传"
        "device_copied" -> "这台手机的数据是从备份恢复的，请重新登录，将作为新设备上传未上传的记录"
        else -> "请重新登录，未上传的记录不会丢失"
    }
    is JishiException.Forbidden -> "没有权限"
    is JishiException.Busy -> "服务器繁忙，请${e.retryAfterSecs}秒后再同步"
    is JishiException.RateLimited -> "尝试次数过多，请${e.retryAfterSecs}秒后再试"
    is JishiException.Conflict -> "操作冲突，请稍后再试"
    is JishiException.Storage -> "手机存储出错"
    is JishiException.StorageFull -> "手机存储空间已满，请清理后再试"
    is JishiException.StorageDamaged -> "数据文件已损坏，请联系管理员"
    is JishiException.NeedsNewerApp -> "请升级纪实到最新版本"
    is JishiException.Cancelled -> "已取消"
    is JishiException.DeadlineReached -> "同步未完成，稍后继续"
    is JishiException.FolderInUse -> "纪实正在另一处运行"
    is JishiException.Other -> "出错了，请稍后再试"
}

suspend fun syncOk(client: JishiClient, who: String, progress: Progress = Progress()): SyncSummary {
    val s = client.sync(observer = progress)
    println(
        "    $who synced: ${s.roundTrips} round trips, sent ${s.documentsSent} / received " +
            "${s.documentsReceived} documents, ${s.photosUploaded} photos up " +
            "(${s.photosPending} pending, ${s.photosFailed} failed), ${s.problems.size} problems",
    )
    check(s.problems.isEmpty()) { "$who: sync problems ${s.problems}" }
    check(progress.events.lastOrNull() == SyncProgress.Finished) {
        "$who: the last progress event is ${progress.events.lastOrNull()}, not Finished"
    }
    val last = client.lastSync()
    check(last != null && last.ok) { "$who: lastSync() after a good sync is $last" }
    return s
}

fun entryTexts(d: DiaryView) = d.entries.map { it.text }.sorted()

suspend fun scenario(serverUrl: String, work: File) = coroutineScope {
    val dirA = File(work, "phone-a").path
    val dirB = File(work, "phone-b").path
    val dirS = File(work, "phone-supervisor").path

    step("install a log sink")
    setLogSink(Logs, LogLevel.DEBUG)

    step("open phone A on $dirA and log in online as cadre u1")
    var a = JishiClient.open(dirA, serverUrl)
    val account = a.login("u1", PASSWORD, "Kotlin phone A")
    checkEq(account.userId, "u1", "A's account user")
    checkEq(account.role, "cadre", "A's account role")
    check(!account.needsLogin) { "A needs a login right after logging in" }
    val badLogin = expectThrows<JishiException.Validation>("a wrong password") {
        JishiClient.open(File(work, "phone-x").path, serverUrl).use { it.login("u1", "wrong", "x") }
    }
    checkEq(badLogin.field, "password", "the field a wrong password names")
    println("    a wrong password: ${badLogin.reason}")
    a.close()

    step("reopen phone A offline (server at $DEAD_URL)")
    a = JishiClient.open(dirA, DEAD_URL)
    checkEq(a.account()?.userId, "u1", "the session kept offline")

    step("write two days of diary, a night log with an overnight stay, offline")
    val e1 = a.addEntry(
        DAY1,
        EntryInput(
            "08:30", Category.VISIT, "青山村三组",
            "走访脱贫户王大爷，了解春耕准备情况，帮助联系农资。", 3u,
            GeoPoint(28.1935, 112.9823, 12.0),
        ),
    )
    val e2 = a.addEntry(
        DAY1,
        EntryInput("14:00", Category.MEETING, "村委会", "召开村两委会议，研究人居环境整治方案。", 0u, null),
    )
    val e3 = a.addEntry(
        DAY2,
        EntryInput("09:15", Category.MEDIATION, "青山村五组", "调解李家与张家宅基地纠纷，双方达成一致。", 2u, null),
    )
    a.setDaySummary(DAY2, "上午调解纠纷，下午整理台账。")
    val act = a.addActivity(
        DAY1,
        ActivityInput(NightKind.VISIT, "19:30", "21:00", "青山村二组", 4u, "村道路灯损坏", "联系电工维修"),
    )
    a.setOvernight(DAY1, true, "青山村")
    val day1 = a.diary(DAY1)
    val day2 = a.diary(DAY2)
    val night = a.nightLog(DAY1)
    checkEq(day1.entries.map { it.id }.toSet(), setOf(e1, e2), "day 1 entries")
    checkEq(day2.entries.map { it.id }, listOf(e3), "day 2 entries")
    checkEq(day2.summary, "上午调解纠纷，下午整理台账。", "day 2 summary")
    check(day1.unsynced && day2.unsynced && night.unsynced) { "records written offline are not marked unsynced" }
    checkEq(night.activities.map { it.id }, listOf(act), "night activities")
    checkEq(night.activities[0].kind, NightKind.VISIT, "night activity kind")
    check(night.stayedOvernight) { "overnight stay not recorded" }
    checkEq(night.overnightPlace, "青山村", "overnight place")

    step("attach two camera photos (JPEG 800x600) to entries, offline")
    val jpeg1 = cameraJpeg(File(work, "camera-1.jpg"), 0)
    val jpeg2 = cameraJpeg(File(work, "camera-2.jpg"), 1)
    val p1 = a.attachPhoto(day1.docId, e1, jpeg1.path)
    val p2 = a.attachPhoto(day2.docId, e3, jpeg2.path)
    println("    photo hashes ${p1.hash} ${p2.hash}")
    check(p1.hash.length == 64 && p2.hash.length == 64 && p1.hash != p2.hash) { "photo hashes $p1 $p2" }
    checkEq(a.diary(DAY1).entries.first { it.id == e1 }.photos.map { it.hash }, listOf(p1.hash), "entry 1 photos")
    checkEq(a.diary(DAY2).entries.first { it.id == e3 }.photos.map { it.hash }, listOf(p2.hash), "entry 3 photos")
    val queued = a.outbox()
    checkEq(queued.map { it.hash }.toSet(), setOf(p1.hash, p2.hash), "outbox photos")
    check(queued.all { it.status == UploadStatus.QUEUED && it.totalBytes > 0uL }) { "outbox before sync: $queued" }
    val unsyncedDocs = a.unsyncedDocuments().toSet()
    checkEq(unsyncedDocs, setOf(day1.docId, day2.docId, night.docId), "unsynced documents")

    step("sync offline: JishiException.Offline, nothing lost")
    val offlineProgress = Progress()
    val offline = expectThrows<JishiException.Offline>("sync() with no server") { a.sync(observer = offlineProgress) }
    println("    offline: ${offline.detail}")
    checkEq(a.unsyncedDocuments().toSet(), unsyncedDocs, "unsynced documents after the failed sync")
    check(a.outbox().all { it.status == UploadStatus.QUEUED || it.status == UploadStatus.UPLOADING }) {
        "outbox after the failed sync: ${a.outbox()}"
    }
    checkEq(a.outbox().size, 2, "outbox size after the failed sync")
    checkEq(entryTexts(a.diary(DAY1)), entryTexts(day1), "day 1 after the failed sync")
    checkEq(a.nightLog(DAY1).activities.size, 1, "night activities after the failed sync")
    val lastOffline = a.lastSync()
    check(lastOffline != null && !lastOffline.ok) { "lastSync() after the failed sync: $lastOffline" }
    a.close()

    step("restart phone A from its data folder with the real server; sync")
    a = JishiClient.open(dirA, serverUrl)
    checkEq(a.unsyncedDocuments().toSet(), unsyncedDocs, "unsynced documents after the restart")
    val progress = Progress()
    val s = syncOk(a, "A", progress)
    check(s.documentsSent >= 3uL) { "A sent ${s.documentsSent} documents, expected >= 3" }
    checkEq(s.photosUploaded, 2u, "photos uploaded")
    checkEq(s.photosPending, 0u, "photos pending")
    checkEq(s.photosFailed, 0u, "photos failed")
    val docEvents = progress.events.filterIsInstance<SyncProgress.Documents>()
    val photoEvents = progress.events.filterIsInstance<SyncProgress.Photo>()
    check(docEvents.isNotEmpty()) { "no document progress: ${progress.events}" }
    for (p in listOf(p1, p2)) {
        check(photoEvents.any { it.hash == p.hash && it.sentBytes == it.totalBytes && it.totalBytes > 0uL }) {
            "no finished progress for photo ${p.hash}: $photoEvents"
        }
    }
    println("    progress: ${docEvents.size} document and ${photoEvents.size} photo events")
    val outbox = a.outbox()
    check(outbox.size == 2 && outbox.all { it.status == UploadStatus.DONE && it.sentBytes == it.totalBytes }) {
        "outbox after sync: $outbox"
    }
    checkEq(a.unsyncedDocuments(), emptyList<String>(), "unsynced documents after sync")
    check(!a.diary(DAY1).unsynced) { "day 1 still unsynced" }

    step("phone B (same cadre, another phone, HTTP through a Kotlin transport) logs in, syncs, sees everything")
    val transport = JdkTransport()
    val b = JishiClient.openWithTransport(dirB, serverUrl, transport)
    b.login("u1", PASSWORD, "Kotlin phone B")
    val sb = syncOk(b, "B")
    checkEq(transport.requests.first(), "POST /api/v1/auth/login", "B's first request through the transport")
    check("POST /api/v1/sync" in transport.requests) { "B's sync did not go through the transport: ${transport.requests}" }
    println("    ${transport.requests.size} requests through the Kotlin transport")
    check(sb.documentsReceived >= 3uL) { "B received ${sb.documentsReceived} documents, expected >= 3" }
    val b1 = b.diary(DAY1)
    val b2 = b.diary(DAY2)
    checkEq(b1.docId, day1.docId, "B's day 1 document id")
    checkEq(entryTexts(b1), entryTexts(day1), "B's day 1 entries")
    checkEq(entryTexts(b2), entryTexts(day2), "B's day 2 entries")
    checkEq(b2.summary, day2.summary, "B's day 2 summary")
    val b1e1 = b1.entries.first { it.id == e1 }
    checkEq(b1e1.place, "青山村三组", "B's entry 1 place")
    checkEq(b1e1.households, 3u, "B's entry 1 households")
    checkEq(b1e1.location?.lat, 28.1935, "B's entry 1 latitude")
    checkEq(b1e1.photos.map { it.hash }, listOf(p1.hash), "B's entry 1 photos")
    checkEq(b2.entries.single().photos.map { it.hash }, listOf(p2.hash), "B's entry 3 photos")
    val bn = b.nightLog(DAY1)
    checkEq(bn.activities.map { it.kind to it.place }, listOf(NightKind.VISIT to "青山村二组"), "B's night activities")
    check(bn.stayedOvernight) { "B does not see the overnight stay" }
    checkEq(bn.overnightPlace, "青山村", "B's overnight place")

    step("phone B shows a photo phone A took: downloaded through the Kotlin transport, full size and thumbnail")
    checkEq(b1e1.photos.single().localPath, null, "B's file of A's photo before it is shown")
    val shown = b.photoFile(p1.hash, PhotoSize.FULL)
    val img = ImageIO.read(File(shown))
    check(img != null && img.width == 800 && img.height == 600) { "A's photo on B decodes as ${img?.width}x${img?.height}" }
    val thumb = ImageIO.read(File(b.photoFile(p1.hash, PhotoSize.THUMBNAIL)))
    check(thumb != null && thumb.width <= 320) { "the thumbnail is ${thumb?.width} px wide" }
    checkEq(b.diary(DAY1).entries.first { it.id == e1 }.photos.single().localPath, shown, "B's file after the download")
    check(transport.requests.any { it == "GET /api/v1/blobs/${p1.hash}" }) { "no photo download through the transport: ${transport.requests}" }
    b.close()

    step("phone A goes live: it listens to the server's changes")
    val changes = Changes()
    val statuses = Statuses()
    a.addChangeListener(changes)
    a.addStatusListener(statuses)
    val liveJob = launch(Dispatchers.IO) { a.live() }
    withTimeout(30_000) { statuses.live.await() }
    val heardComment = CompletableDeferred<DocChange>()
    changes.waiting = Pair({ c: DocChange -> c.docId == day1.docId && c.origin == ChangeOrigin.SERVER }, heardComment)

    step("supervisor s1 logs in, syncs, receives the diary and comments on an entry")
    val sup = JishiClient.open(dirS, serverUrl)
    checkEq(sup.login("s1", PASSWORD, "Kotlin supervisor phone").role, "supervisor", "s1's role")
    val ss = syncOk(sup, "S")
    check(ss.documentsReceived >= 3uL) { "S received ${ss.documentsReceived} documents, expected >= 3" }
    val supDocs = sup.documents().toSet()
    check(supDocs.containsAll(unsyncedDocs)) { "S's documents $supDocs lack some of $unsyncedDocs" }
    val commentId = sup.addComment(day1.docId, e1, "请补充走访户数")
    checkEq(sup.comments(day1.docId).map { it.id }, listOf(commentId), "S's comments on day 1")
    checkEq(sup.unsyncedDocuments(), listOf(day1.docId), "S's unsynced documents")
    val ss2 = syncOk(sup, "S")
    check(ss2.documentsSent >= 1uL) { "S sent ${ss2.documentsSent} documents" }
    checkEq(sup.unsyncedDocuments(), emptyList<String>(), "S's unsynced documents after sync")
    sup.close()

    step("phone A's change listener hears the comment: no sync() call, no polling")
    val heard = withTimeout(30_000) { heardComment.await() }
    checkEq(heard.kind, "diary", "the heard change's kind")
    checkEq(heard.ownerId, "u1", "the heard change's owner")
    checkEq(heard.period, DAY1, "the heard change's day")
    liveJob.cancelAndJoin()
    check(liveJob.isCancelled) { "live() did not end with its coroutine" }
    val notices = a.commentsOnMyRecords()
    val notice = notices.singleOrNull { it.comment.id == commentId }
    check(notice != null) { "the comment is not among ${notices}" }
    checkEq(notice!!.docId, day1.docId, "the comment's document")
    checkEq(notice.comment.text, "请补充走访户数", "the comment's text")
    checkEq(notice.comment.author, "s1", "the comment's author")
    checkEq(notice.comment.role, "supervisor", "the comment's author role")
    checkEq(notice.comment.onItem, e1, "the comment's entry")
    checkEq(a.diary(DAY1).comments.map { it.id }, listOf(commentId), "day 1's comments on A")

    step("a stalled server: a CancelToken and a cancelled coroutine interrupt the request at once")
    BlackHole().use { hole ->
        val dirC = File(work, "phone-c").path
        JishiClient.open(dirC, serverUrl).use { it.login("u1", PASSWORD, "Kotlin phone C") }
        val c = JishiClient.open(dirC, hole.url)
        c.addEntry(DAY2, EntryInput("20:00", Category.OTHER, "村委会", "信号不好", 0u, null))
        val token = CancelToken()
        val started = System.nanoTime()
        val syncing = async(Dispatchers.IO) {
            try {
                c.sync(cancel = token)
                null
            } catch (e: JishiException) {
                e
            }
        }
        hole.accepted.await()
        // The sync waits on the network; the phone reads and writes meanwhile.
        c.addEntry(DAY2, EntryInput("20:30", Category.OTHER, "村委会", "边等边写", 0u, null))
        checkEq(c.diary(DAY2).entries.size, 2, "C's entries written while a sync waits")
        token.cancel()
        val stopped = syncing.await()
        check(stopped is JishiException.Cancelled) { "a cancelled sync ended with $stopped" }
        val ms = (System.nanoTime() - started) / 1_000_000
        println("    the token stopped a request the server never answered after $ms ms")
        checkEq(c.unsyncedDocuments().size, 1, "C's unsynced documents after the cancel")

        hole.accepted = CompletableDeferred()
        val job = launch(Dispatchers.IO) { c.sync() }
        hole.accepted.await()
        job.cancelAndJoin()
        check(job.isCancelled) { "the sync's coroutine was not cancelled" }
        c.close()
    }

    step("bad input is refused with the field to fix")
    val badDate = expectThrows<JishiException.Validation>("diary(\"2026-13-45\")") { a.diary("2026-13-45") }
    checkEq(badDate.field, "date", "the field of a bad date")
    val tooLong = expectThrows<JishiException.Validation>("an entry of 5,001 characters") {
        a.addEntry(DAY1, EntryInput("10:00", Category.OTHER, "村委会", "字".repeat(5001), 0u, null))
    }
    checkEq(tooLong.field, "text", "the field of a too long text")
    checkEq(tooLong.code, "too_long", "the code of a too long text")
    checkEq(tooLong.limit, 5000uL, "the limit of a too long text")
    checkEq(userMessage(tooLong), "内容太长了，最多5000个字", "the message the app maps from the code")
    checkEq(userMessage(badLogin), "账号或密码错误", "the message of a wrong password")
    val badTime = expectThrows<JishiException.Validation>("an entry at 25:00") {
        a.addEntry(DAY1, EntryInput("25:00", Category.OTHER, "村委会", "时间不对", 0u, null))
    }
    checkEq(badTime.field, "time", "the field of a bad time")
    val badUrl = expectThrows<JishiException.Validation>("open() on an ftp:// URL") {
        JishiClient.open(File(work, "phone-y").path, "ftp://example")
    }
    checkEq(badUrl.field, "server_url", "the field of a bad server URL")
    checkEq(a.diary(DAY1).entries.size, 2, "day 1 entries after the refused ones")
    checkEq(a.unsyncedDocuments(), emptyList<String>(), "unsynced documents after the refused edits")

    step("text positions are Kotlin's String indices (UTF-16 units): 𠮷 and emoji count two")
    val rare = "𠮷野家🌾田"
    val e4 = a.addEntry(DAY2, EntryInput("16:00", Category.OTHER, "村委会", rare, 0u, null))
    a.spliceEntryText(DAY2, e4, rare.indexOf("田").toUInt(), 0u, "的")
    checkEq(a.diary(DAY2).entries.first { it.id == e4 }.text, "𠮷野家🌾的田", "the text spliced at a Kotlin index")
    val inside = expectThrows<JishiException.Validation>("a position inside 𠮷's pair") {
        a.spliceEntryText(DAY2, e4, 1u, 0u, "x")
    }
    checkEq(inside.field, "text", "the field of a position inside a pair")

    step("a revoked phone becomes a new device at its next login; its unsynced work reaches the server")
    val dirR = File(work, "phone-r")
    val r = JishiClient.open(dirR.path, serverUrl)
    val firstR = r.login("u1", PASSWORD, "Kotlin phone R")
    checkEq(firstR.becameNewDevice, null, "R's first login")
    r.addEntry(DAY2, EntryInput("21:00", Category.OTHER, "村委会", "吊销前写的", 0u, null))
    admin("revoke-device", "--device", firstR.deviceId)
    val revoked = expectThrows<JishiException.LoginRequired>("a sync of the revoked phone") { r.sync() }
    println("    the revoked phone's sync: ${userMessage(revoked)}")
    val againR = r.login("u1", PASSWORD, "Kotlin phone R")
    checkEq(againR.becameNewDevice, "device_revoked", "why R became a new device")
    check(againR.deviceId != firstR.deviceId) { "R kept its revoked device id ${firstR.deviceId}" }
    checkEq(r.unsyncedDocuments().size, 1, "R's unsynced documents after the move")
    syncOk(r, "R")
    syncOk(a, "A")
    check("吊销前写的" in entryTexts(a.diary(DAY2))) { "A lacks R's entry: ${entryTexts(a.diary(DAY2))}" }
    r.close()

    step("a copy of phone R restored from a backup is told apart and becomes a new device, keeping its edit")
    val dirCopy = File(work, "phone-r-copy")
    dirR.copyRecursively(dirCopy)
    // The phone itself goes on: two logins move its device check on.
    JishiClient.open(dirR.path, serverUrl).use { orig ->
        orig.login("u1", PASSWORD, "Kotlin phone R")
        checkEq(orig.login("u1", PASSWORD, "Kotlin phone R").deviceId, againR.deviceId, "the original's device")
    }
    JishiClient.open(dirCopy.path, serverUrl).use { copy ->
        copy.addEntry(DAY2, EntryInput("22:00", Category.OTHER, "村委会", "恢复后写的", 0u, null))
        val moved = copy.login("u1", PASSWORD, "Kotlin phone R (restored)")
        checkEq(moved.becameNewDevice, "device_copied", "why the copy became a new device")
        check(moved.deviceId != againR.deviceId) { "the copy kept the original's device id" }
        syncOk(copy, "R copy")
    }
    syncOk(a, "A")
    check("恢复后写的" in entryTexts(a.diary(DAY2))) { "A lacks the copy's entry: ${entryTexts(a.diary(DAY2))}" }

    step("a refused document: a copy of phone Q still holding a valid token writes as Q did; the server refuses it, the copy inspects and discards it")
    val dirQ = File(work, "phone-q")
    JishiClient.open(dirQ.path, serverUrl).use { q ->
        q.login("u1", PASSWORD, "Kotlin phone Q")
        q.addEntry(DAY1, EntryInput("06:00", Category.OTHER, "村委会", "早班", 0u, null))
        syncOk(q, "Q")
    }
    val dirQ2 = File(work, "phone-q-copy")
    dirQ.copyRecursively(dirQ2)
    JishiClient.open(dirQ.path, serverUrl).use { q ->
        q.addEntry(DAY1, EntryInput("06:30", Category.OTHER, "村委会", "原手机补记", 0u, null))
        syncOk(q, "Q")
    }
    JishiClient.open(dirQ2.path, serverUrl).use { q2 ->
        q2.addEntry(DAY1, EntryInput("06:40", Category.OTHER, "村委会", "副本补记", 0u, null))
        val s = q2.sync()
        checkEq(s.problems.size, 1, "problems of the copy's sync")
        val refused = q2.refusedDocuments()
        checkEq(refused.size, 1, "refused documents on the copy")
        val r = refused.single()
        checkEq(r.kind, "diary", "the refused document's kind")
        checkEq(r.period, DAY1, "the refused document's day")
        check(r.code.isNotEmpty() && r.message.isNotEmpty()) { "the refusal's code and message: $r" }
        println("    refused: ${r.code}: ${r.message}")
        checkEq(q2.unsyncedDocuments(), listOf(r.docId), "the copy's unsynced documents")
        q2.discardLocalChanges(r.docId)
        checkEq(q2.refusedDocuments(), emptyList<RefusedDocument>(), "refused documents after the discard")
        syncOk(q2, "Q copy")
        check("原手机补记" in entryTexts(q2.diary(DAY1))) { "the server's version is back: ${entryTexts(q2.diary(DAY1))}" }
        check("副本补记" !in entryTexts(q2.diary(DAY1))) { "the discarded entry stayed" }
    }

    step("phone K: tokens in a Kotlin secret store, the profile, month review and township notices from the server, a HEIC photo through a Kotlin decoder, then a wipe")
    phoneK(serverUrl, work)

    step("lastSync() and the log sink")
    val last = a.lastSync()
    check(last != null && last.ok && last.atMs > 0L) { "lastSync(): $last" }
    println("    lastSync: ${last!!.message}")
    a.close()
    val lines = Logs.lines.toList()
    check(lines.isNotEmpty()) { "no log line reached the sink" }
    check(lines.any { "client opened" in it }) { "no 'client opened' line among ${lines.size} log lines" }
    check(lines.any { "sync finished" in it }) { "no 'sync finished' line among ${lines.size} log lines" }
    println("    ${lines.size} log lines, e.g. ${lines.first()}")
}

/// `jishi --data-dir <the server's folder>`: the administrator's command line.
var adminCommand: List<String> = emptyList()

/// Run `jishi admin <args>` against the running server's data, as an
/// administrator would.
fun admin(vararg args: String) {
    val p = ProcessBuilder(adminCommand + "admin" + args.toList()).redirectErrorStream(true).start()
    val out = p.inputStream.bufferedReader().readText()
    check(p.waitFor() == 0) { "jishi admin ${args.joinToString(" ")} failed: $out" }
}

/// Run `jishi <args>` (not `admin`) against the running server's data,
/// e.g. `publish-week`.
/**
 * A 督办 item issued by the supervisor over the API (as the web pages do)
 * reaches the phone, is worked and asked to close offline, is confirmed by
 * its issuer, and the phone sees it closed. (Apart from `scenario`, whose
 * body would pass the JVM's limit on a method's size.)
 */
/** Phone K: tokens in a Kotlin secret store, the server's reads, a HEIC photo, a wipe. */
suspend fun phoneK(serverUrl: String, work: File) {
    val secrets = MapSecrets()
    val k = JishiClient.open(File(work, "phone-k").path, serverUrl)
    k.setSecretStore(secrets)
    k.login("u1", PASSWORD, "Kotlin phone K")
    checkEq(secrets.map.size, 1, "token entries in the Kotlin secret store")
    val profile = k.profile()
    checkEq(profile.userId, "u1", "the profile's user")
    checkEq(profile.name, "张三", "the profile's name")
    checkEq(profile.post, "驻村第一书记", "the profile's 职务")
    checkEq(k.reviewResult("2199-12"), null, "a month not yet published")
    check(k.serverGet("/api/v1/me").contains("\"u1\"")) { "serverGet(/api/v1/me)" }
    // The township's notices (a village publishes none): a week the
    // command line publishes now.
    jishiCommand("publish-week", "--week", "2026-W47", "--unit", "t1")
    val board = k.noticeBoard()
    checkEq(board.unitId, "t1", "the board of u1's village is its township's")
    check(board.notices.any { it.week == "2026-W47" && it.status == "publish" }) { "the published week on the board: $board" }
    val week47 = k.notice("t1", "2026-W47")
    checkEq(week47.status, "published", "the notice's status")
    checkEq(week47.version, 1L, "the notice's version")
    check(week47.cadres.any { it.userId == "u1" && it.post == "驻村第一书记" && it.daysDue == 5u }) { "u1's row: ${week47.cadres}" }
    val noWeek = expectThrows<JishiException.Validation>("a notice of a week never published") { k.notice("t1", "2026-W40") }
    checkEq(noWeek.code, "not_found", "the code of a notice never published")
    // The month's commitments (月初晒承诺), published by the command line.
    k.addTask("2026-11", TaskInput("修通村道", TaskKind.FIXED, "2026-11-20"))
    syncOk(k, "K")
    jishiCommand("publish-month", "--month", "2026-11", "--part", "start", "--unit", "t1")
    val months = k.noticeBoard().notices.filter { it.kind == "month_start" }
    check(months.any { it.week == "2026-11-start" }) { "the month's commitments on the board: $months" }
    val start = k.monthNotice("t1", "2026-11-start")
    checkEq(start.part, "start", "the month notice's part")
    checkEq(start.status, "published", "the month notice's status")
    check(start.cadres.any { c -> c.userId == "u1" && c.commitments.any { it.title == "修通村道" && it.due == "2026-11-20" } }) { "u1's commitment in the month notice: ${start.cadres}" }
    val badKey = expectThrows<JishiException.Validation>("a month notice key that is a week") { k.monthNotice("t1", "2026-W47") }
    checkEq(badKey.field, "key", "the field of a bad month notice key")
    // A 表态 is for the people ranked 末位 only.
    val notLast = expectThrows<JishiException.Conflict>("a statement by a cadre not ranked last") {
        k.submitStatement("2020-01", "下月多走访")
    }
    checkEq(notLast.code, "not_bottom", "the code of a statement nobody asked for")
    cardOnThePhone(serverUrl, k)
    itemsOnThePhone(serverUrl, k)
    val decoder = FakeHeicDecoder()
    k.setPhotoDecoder(decoder)
    val eK = k.addEntry(DAY2, EntryInput("17:00", Category.VISIT, "青山村", "苹果手机拍的", 1u, null))
    val heic = File(work, "iphone.heic").also { it.writeBytes(HEIC_HEADER + cameraJpeg(File(work, "inside.jpg"), 2).readBytes()) }
    val pk = k.attachPhoto(k.diary(DAY2).docId, eK, heic.path)
    checkEq(decoder.calls, 1, "calls of the Kotlin HEIC decoder")
    checkEq(pk.capturedAtMs, HEIC_TAKEN_AT, "the capture time the platform read")
    checkEq(pk.location?.lat, 28.1, "the place the platform read")
    val unsynced = expectThrows<JishiException.Conflict>("a wipe with unsynced work") { k.wipe() }
    checkEq(unsynced.code, "unsynced", "the code of a refused wipe")
    syncOk(k, "K")
    val wiped = k.wipe()
    check(wiped.documents >= 1uL) { "the wipe removed ${wiped.documents} documents" }
    checkEq(k.account(), null, "K's account after the wipe")
    checkEq(secrets.map.size, 0, "token entries left after the wipe")
    k.close()
}

/** 亮身份: where I am, set offline, on my public card after the sync. */
suspend fun cardOnThePhone(serverUrl: String, k: JishiClient) {
    k.setMyStatus(Whereabouts.IN_VILLAGE, "v1")
    checkEq(k.myStatus()?.kind, Whereabouts.IN_VILLAGE, "my status on the phone")
    val noVillage = expectThrows<JishiException.Validation>("下村 without the village") { k.setMyStatus(Whereabouts.IN_VILLAGE, null) }
    checkEq(noVillage.field, "village", "the field of a status without its village")
    syncOk(k, "K")
    val card = k.myCard()
    val cardPage = java.net.URI("$serverUrl/c/${card.cardId}").toURL().readText()
    check(cardPage.contains("下村：") && cardPage.contains("更新")) { "the public card shows where I am: $cardPage" }
    checkEq(k.setMyCardPhone("0736-1234567").phone, "0736-1234567", "the phone my card shows")
}

suspend fun itemsOnThePhone(serverUrl: String, k: JishiClient) {
    val s1 = apiLogin(serverUrl, "s1")
    val (issued, item) = apiPost(serverUrl, "/api/v1/items", s1,
        """{"list":"supervision","source":"superior","title":"排查取暖安全","content":"逐户排查独居老人取暖设施。","due_workdays":5,"responsible":"u1"}""")
    checkEq(issued, 201, "issuing an item: $item")
    val itemId = Regex("\"id\":\"(item:[0-9a-f]{32})\"").find(item)!!.groupValues[1]
    syncOk(k, "K")
    val mine = k.myItems()
    check(mine.any { it.docId == itemId && it.status == "open" && it.myPart == "responsible" }) { "the item on the phone: $mine" }
    checkEq(k.item(itemId).may, listOf(ItemStepAction.PROGRESS, ItemStepAction.REQUEST_CLOSE), "the steps u1 may take")
    k.takeItemStep(itemId, ItemStepAction.PROGRESS, "已排查12户")
    k.takeItemStep(itemId, ItemStepAction.REQUEST_CLOSE, "全部排查完毕")
    val own = expectThrows<JishiException.Forbidden>("confirming one's own item") {
        k.takeItemStep(itemId, ItemStepAction.CONFIRM, "")
    }
    check(own.detail.contains("confirm")) { "the reason: ${own.detail}" }
    checkEq(k.item(itemId).status, "awaiting_confirmation", "the item after the request")
    syncOk(k, "K")
    val (confirmed, after) = apiPost(serverUrl, "/api/v1/items/$itemId/steps", s1, """{"action":"confirm","text":"同意销号"}""")
    checkEq(confirmed, 201, "the issuer's 销号: $after")
    syncOk(k, "K")
    val closed = k.item(itemId)
    checkEq(closed.status, "closed", "the item on the phone after 销号")
    checkEq(closed.closedBy, "s1", "who closed it")
    checkEq(closed.steps.size, 3, "the item's history")
}

/** An access token of `login` for the JSON API (a browser's, no actors). */
fun apiLogin(serverUrl: String, login: String): String {
    val (status, body) = apiPost(serverUrl, "/api/v1/auth/login", null,
        """{"login":"$login","password":"$PASSWORD","device_id":"kotlin-web-$login","device_name":"网页","actors":[]}""")
    check(status == 200) { "login $login: $status $body" }
    return Regex("\"access_token\":\"([^\"]+)\"").find(body)!!.groupValues[1]
}

/** POST JSON to the server: (status, body). */
fun apiPost(serverUrl: String, path: String, token: String?, json: String): Pair<Int, String> {
    val request = java.net.http.HttpRequest.newBuilder(URI.create(serverUrl.trimEnd('/') + path))
        .header("content-type", "application/json")
        .apply { if (token != null) header("authorization", "Bearer $token") }
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(json))
        .build()
    val r = HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofString())
    return r.statusCode() to r.body()
}

fun jishiCommand(vararg args: String) {
    val p = ProcessBuilder(adminCommand + args.toList()).redirectErrorStream(true).start()
    val out = p.inputStream.bufferedReader().readText()
    check(p.waitFor() == 0) { "jishi ${args.joinToString(" ")} failed: $out" }
}

/** The app's secret store (Android Keystore, the iOS Keychain), in memory. */
class MapSecrets : SecretStore {
    val map = java.util.concurrent.ConcurrentHashMap<String, ByteArray>()
    override fun load(key: String): ByteArray? = map[key]
    override fun store(key: String, value: ByteArray?) {
        if (value == null) map.remove(key) else map[key] = value
    }
}

/** An ISO-BMFF `ftyp` box of brand heic, as an iPhone's photo begins. */
val HEIC_HEADER = byteArrayOf(0, 0, 0, 24) + "ftypheic".toByteArray() + byteArrayOf(0, 0, 0, 0) +
    "mif1heic".toByteArray()
const val HEIC_TAKEN_AT = 1_764_000_000_000L

/**
 * Stands in for Android's ImageDecoder or iOS's CGImageSource (the JVM has
 * no HEIC decoder): the "HEIC" here is the header above followed by a JPEG.
 */
class FakeHeicDecoder : PhotoDecoder {
    @Volatile var calls = 0
    override fun toJpeg(bytes: ByteArray, maxLongEdge: UInt): DecodedPhoto {
        calls++
        val jpeg = bytes.copyOfRange(HEIC_HEADER.size, bytes.size)
        return DecodedPhoto(jpeg, HEIC_TAKEN_AT, GeoPoint(28.1, 112.9, 5.0))
    }
}

fun main(args: Array<String>) {
    if (args.size != 4) {
        System.err.println("usage: ScenarioKt <serverUrl> <workdir> <jishi binary> <server data dir>")
        exitProcess(2)
    }
    adminCommand = listOf(args[2], "--data-dir", args[3])
    val started = System.nanoTime()
    try {
        runBlocking { scenario(args[0], File(args[1]).also { it.mkdirs() }) }
    } catch (e: Throwable) {
        System.err.println("FAILED in step $steps: $e")
        e.printStackTrace()
        println("scenario: $checks passed, 1 failed")
        exitProcess(1)
    }
    val ms = (System.nanoTime() - started) / 1_000_000
    println("the Kotlin scenario took $ms ms in $steps steps")
    println("scenario: $checks passed, 0 failed")
    exitProcess(0)
}
