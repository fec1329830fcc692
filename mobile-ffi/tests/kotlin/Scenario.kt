// A phone's day, driven through the generated Kotlin bindings against a live
// `jishi serve`: log in online, write offline (two diaries, a night log,
// photos), fail to sync offline without losing anything, restart online and
// sync, then a second phone of the same cadre and a supervisor's phone see the
// records, the supervisor's comment comes back to the first phone, and bad
// input is refused with the right field. Run by run.sh beside this file:
//
//   java -Djna.library.path=target/debug -cp … ScenarioKt <serverUrl> <workdir>
//
// Prints each step; any failed check ends the program with status 1.

import cn.jishi.ffi.ActivityInput
import cn.jishi.ffi.Category
import cn.jishi.ffi.DiaryView
import cn.jishi.ffi.EntryInput
import cn.jishi.ffi.GeoPoint
import cn.jishi.ffi.JishiClient
import cn.jishi.ffi.JishiException
import cn.jishi.ffi.LogLevel
import cn.jishi.ffi.LogSink
import cn.jishi.ffi.NightKind
import cn.jishi.ffi.SyncObserver
import cn.jishi.ffi.SyncProgress
import cn.jishi.ffi.SyncSummary
import cn.jishi.ffi.UploadStatus
import cn.jishi.ffi.setLogSink
import java.awt.BasicStroke
import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import java.util.Collections
import java.util.concurrent.ConcurrentLinkedQueue
import javax.imageio.ImageIO
import kotlin.system.exitProcess

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

fun syncOk(client: JishiClient, who: String, progress: Progress = Progress()): SyncSummary {
    val s = client.sync(progress)
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

fun scenario(serverUrl: String, work: File) {
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
    val offline = expectThrows<JishiException.Offline>("sync() with no server") { a.sync(offlineProgress) }
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

    step("phone B (same cadre, another phone) logs in, syncs and sees everything")
    val b = JishiClient.open(dirB, serverUrl)
    b.login("u1", PASSWORD, "Kotlin phone B")
    val sb = syncOk(b, "B")
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
    b.close()

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

    step("phone A syncs and gets the supervisor's comment")
    val sa2 = syncOk(a, "A")
    check(sa2.documentsReceived >= 1uL) { "A received ${sa2.documentsReceived} documents" }
    val notices = a.commentsOnMyRecords()
    val notice = notices.singleOrNull { it.comment.id == commentId }
    check(notice != null) { "the comment is not among ${notices}" }
    checkEq(notice!!.docId, day1.docId, "the comment's document")
    checkEq(notice.comment.text, "请补充走访户数", "the comment's text")
    checkEq(notice.comment.author, "s1", "the comment's author")
    checkEq(notice.comment.role, "supervisor", "the comment's author role")
    checkEq(notice.comment.onItem, e1, "the comment's entry")
    checkEq(a.diary(DAY1).comments.map { it.id }, listOf(commentId), "day 1's comments on A")

    step("bad input is refused with the field to fix")
    val badDate = expectThrows<JishiException.Validation>("diary(\"2026-13-45\")") { a.diary("2026-13-45") }
    checkEq(badDate.field, "date", "the field of a bad date")
    val tooLong = expectThrows<JishiException.Validation>("an entry of 5,001 characters") {
        a.addEntry(DAY1, EntryInput("10:00", Category.OTHER, "村委会", "字".repeat(5001), 0u, null))
    }
    checkEq(tooLong.field, "text", "the field of a too long text")
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

fun main(args: Array<String>) {
    if (args.size != 2) {
        System.err.println("usage: ScenarioKt <serverUrl> <workdir>")
        exitProcess(2)
    }
    val started = System.nanoTime()
    try {
        scenario(args[0], File(args[1]).also { it.mkdirs() })
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
