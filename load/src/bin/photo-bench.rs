//! `photo-bench`: the photo benchmark of issue 4. Our photo code side by
//! side with libvips's `vipsthumbnail` on the same 12-megapixel camera-like
//! JPEGs:
//!
//! - *phone step*: `sync_core::photo::prepare_photo` (decode, EXIF
//!   orientation, long edge to 1,600 px, JPEG q80, no metadata) against
//!   `vipsthumbnail IN --size 1600x1600 -o OUT[Q=80,strip]`;
//! - *server step*: `backend::photos::check_and_clean` (check, clean,
//!   decode, 320 px thumbnail) against `vipsthumbnail --size 320x320`, both on the
//!   file the phone step of our code produced (what the server receives).
//!
//! Every measured step runs in a fresh child process (this binary re-run
//! with a hidden subcommand, or `vipsthumbnail`), so its peak resident memory
//! is its own: the kernel's `ru_maxrss` of that child, from `wait4`. Times
//! are the child's wall time from spawn to exit (ours also reports the time
//! inside the function alone) and its CPU time, user plus system. Progress
//! goes to stderr, the table to stdout. Linux only (`ru_maxrss` in KiB).
//!
//! ```sh
//! apt-get install -y libvips-tools
//! cargo build --release -p jishi-load --bin photo-bench
//! target/release/photo-bench run --count 5 --repeat 3
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use backend::photos::work::{check_and_clean, PhotoLimits};
use clap::{Parser, Subcommand};
use jishi_world::exif::{with_exif, Exif};
use jishi_world::Rng;
use sync_core::photo::{prepare_photo, PhotoOptions};

#[derive(Parser)]
#[command(
    name = "photo-bench",
    about = "Photo preparation and thumbnails: our code against vipsthumbnail"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate the photos, measure every step, print the table (default).
    Run {
        /// Camera-like 4000x3000 JPEGs to generate.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// Times each step is run on each photo (a fresh process each time).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Folder for the photos and outputs (default: a new temporary one,
        /// removed at the end).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the folder.
        #[arg(long)]
        keep: bool,
    },
    /// Child: `prepare_photo` on IN, the result to OUT.
    #[command(hide = true)]
    Prepare { input: PathBuf, output: PathBuf },
    /// Child: `check_and_clean` on IN, the thumbnail to OUT.
    #[command(hide = true)]
    Thumbnail { input: PathBuf, output: PathBuf },
    /// Child: read IN and exit (start-up and reading cost alone).
    #[command(hide = true)]
    Idle { input: PathBuf },
    /// Child: write a camera-like 4000x3000 JPEG to OUT. A child of its own
    /// so that the parent never holds a 36 MB pixel buffer: a child's
    /// `ru_maxrss` starts from its parent's peak when it is spawned with
    /// vfork, as `std::process::Command` does.
    #[command(hide = true)]
    Generate {
        output: PathBuf,
        #[arg(long)]
        seed: u32,
        #[arg(long)]
        orientation: u16,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Cmd::Run {
        count: 5,
        repeat: 3,
        dir: None,
        keep: false,
    }) {
        Cmd::Run {
            count,
            repeat,
            dir,
            keep,
        } => run(count.max(1), repeat.max(1), dir, keep),
        Cmd::Prepare { input, output } => {
            let bytes = read(&input)?;
            let start = Instant::now();
            let prepared = prepare_photo(&bytes, &PhotoOptions::default())?;
            let ns = start.elapsed().as_nanos();
            write(&output, &prepared.jpeg)?;
            println!("ns={ns} bytes={}", prepared.jpeg.len());
            Ok(())
        }
        Cmd::Thumbnail { input, output } => {
            let bytes = read(&input)?;
            let start = Instant::now();
            let checked = check_and_clean(bytes, &PhotoLimits::default())?;
            let ns = start.elapsed().as_nanos();
            write(&output, &checked.thumbnail)?;
            println!("ns={ns} bytes={}", checked.thumbnail.len());
            Ok(())
        }
        Cmd::Idle { input } => {
            let bytes = read(&input)?;
            println!("ns=0 bytes={}", bytes.len());
            Ok(())
        }
        Cmd::Generate {
            output,
            seed,
            orientation,
        } => {
            let jpeg = camera_jpeg(4000, 3000, seed, orientation, &output)?;
            write(&output, &jpeg)?;
            println!("ns=0 bytes={}", jpeg.len());
            Ok(())
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

// ---- the run -------------------------------------------------------------

/// What was measured of one child process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    /// Time inside our function, as the child reports it.
    inner: Option<Duration>,
    out_bytes: u64,
}

/// The steps, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Startup,
    Phone,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ours,
    Vips,
    /// `vipsthumbnail` with `VIPS_CONCURRENCY=1`: one worker thread, like
    /// ours.
    Vips1,
    /// One `vipsthumbnail` process for all the photos, per photo: its
    /// start-up spread over them.
    VipsBatch,
    /// The same with `VIPS_CONCURRENCY=1`.
    VipsBatch1,
}

fn run(count: usize, repeat: usize, dir: Option<PathBuf>, keep: bool) -> anyhow::Result<()> {
    for tool in ["vipsthumbnail", "vipsheader"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            bail!("`{tool}` not found: apt-get install -y libvips-tools");
        }
    }
    let vips_version = Command::new("vipsthumbnail")
        .arg("--vips-version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let (dir, _temp) = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            (d, None)
        }
        None => {
            let d = std::env::temp_dir().join(format!("photo-bench-{}", std::process::id()));
            std::fs::create_dir_all(&d)?;
            (d.clone(), (!keep).then_some(RemoveOnDrop(d)))
        }
    };
    let me = std::env::current_exe().context("cannot find this binary")?;

    // The photos: every other one held upright (orientation 6), as a phone
    // camera stores a portrait photo.
    let mut inputs = Vec::new();
    let mut input_sizes = Vec::new();
    for i in 0..count {
        let orientation = if i % 2 == 1 { 6 } else { 1 };
        let path = dir.join(format!("photo{i}.jpg"));
        let mut c = Command::new(&me);
        c.arg("generate")
            .arg(&path)
            .arg(format!("--seed={}", i + 1))
            .arg(format!("--orientation={orientation}"));
        let made = measure(&mut c)?;
        eprintln!(
            "generated {} ({} bytes, orientation {orientation}) in {:.1} s",
            path.display(),
            made.out_bytes,
            made.wall.as_secs_f64()
        );
        input_sizes.push(made.out_bytes);
        inputs.push((path, orientation));
    }

    let mut samples: Vec<(Step, Tool, Sample)> = Vec::new();
    for r in 0..repeat {
        for (tool, one_thread) in [(Tool::VipsBatch, false), (Tool::VipsBatch1, true)] {
            eprintln!(
                "round {}/{repeat}, all photos in one vipsthumbnail{}",
                r + 1,
                if one_thread { ", 1 thread" } else { "" }
            );
            let mut c = Command::new("vipsthumbnail");
            c.args(inputs.iter().map(|(p, _)| p))
                .arg("--size")
                .arg("1600x1600")
                .arg("-o")
                .arg(format!("{}/%s-batch.jpg[Q=80,strip]", dir.display()));
            if one_thread {
                c.env("VIPS_CONCURRENCY", "1");
            }
            let all = measure(&mut c)?;
            let n = inputs.len() as u32;
            let batch_bytes: u64 = (0..inputs.len())
                .map(|i| {
                    std::fs::metadata(dir.join(format!("photo{i}-batch.jpg")))
                        .map_or(0, |m| m.len())
                })
                .sum();
            samples.push((
                Step::Phone,
                tool,
                Sample {
                    wall: all.wall / n,
                    cpu: all.cpu / n,
                    max_rss_kib: all.max_rss_kib,
                    inner: None,
                    out_bytes: batch_bytes / u64::from(n),
                },
            ));
        }
        for (i, (input, orientation)) in inputs.iter().enumerate() {
            eprintln!("round {}/{repeat}, photo {}/{count}", r + 1, i + 1);
            let ours_1600 = dir.join(format!("photo{i}-ours-1600.jpg"));
            let vips_1600 = dir.join(format!("photo{i}-vips-1600.jpg"));
            let vips1_1600 = dir.join(format!("photo{i}-vips1-1600.jpg"));

            let mut c = Command::new(&me);
            c.arg("idle").arg(input);
            samples.push((Step::Startup, Tool::Ours, measure(&mut c)?));
            let mut c = Command::new("vipsheader");
            c.arg(input);
            samples.push((Step::Startup, Tool::Vips, measure(&mut c)?));

            let mut c = Command::new(&me);
            c.arg("prepare").arg(input).arg(&ours_1600);
            samples.push((Step::Phone, Tool::Ours, measure(&mut c)?));
            let mut c = vips(input, 1600, &vips_1600, false);
            samples.push((Step::Phone, Tool::Vips, measure(&mut c)?));
            let mut c = vips(input, 1600, &vips1_1600, true);
            samples.push((Step::Phone, Tool::Vips1, measure(&mut c)?));

            if r == 0 {
                // Same size and the same way up from both (orientation 6
                // turns the 4000x3000 stored pixels into a portrait).
                let ours = dimensions(&ours_1600)?;
                let theirs = dimensions(&vips_1600)?;
                let want = if *orientation == 6 {
                    (1200, 1600)
                } else {
                    (1600, 1200)
                };
                if ours != want || theirs != want {
                    bail!(
                        "{}: ours {ours:?}, vips {theirs:?}, expected {want:?}",
                        input.display()
                    );
                }
            }

            // The server step, on what our phone step uploads.
            let ours_thumb = dir.join(format!("photo{i}-ours-320.jpg"));
            let vips_thumb = dir.join(format!("photo{i}-vips-320.jpg"));
            let mut c = Command::new(&me);
            c.arg("thumbnail").arg(&ours_1600).arg(&ours_thumb);
            samples.push((Step::Server, Tool::Ours, measure(&mut c)?));
            let mut c = vips(&ours_1600, 320, &vips_thumb, false);
            samples.push((Step::Server, Tool::Vips, measure(&mut c)?));
            let mut c = vips(&ours_1600, 320, &vips_thumb, true);
            samples.push((Step::Server, Tool::Vips1, measure(&mut c)?));
            if r == 0 {
                let ours = dimensions(&ours_thumb)?;
                let theirs = dimensions(&vips_thumb)?;
                if ours.0.max(ours.1) != 320 || theirs.0.max(theirs.1) != 320 {
                    bail!(
                        "thumbnails: ours {ours:?}, vips {theirs:?}, expected a 320 px long edge"
                    );
                }
            }
        }
    }

    print_table(
        &samples,
        count,
        repeat,
        &input_sizes,
        &vips_version,
        &inputs,
    );
    println!();
    println!(
        "¹ One `vipsthumbnail` run converting all {count} photos: its wall and CPU time \
         divided by {count}, its peak RSS as it is."
    );
    if let Some(kib) = own_peak_rss_kib() {
        println!(
            "(This process peaked at {} MiB resident: the floor under every child's peak RSS.)",
            mib(kib)
        );
    }
    Ok(())
}

/// `vipsthumbnail` to a long edge of `edge`, JPEG q80 without metadata.
fn vips(input: &Path, edge: u32, output: &Path, one_thread: bool) -> Command {
    let mut c = Command::new("vipsthumbnail");
    c.arg(input)
        .arg("--size")
        .arg(format!("{edge}x{edge}"))
        .arg("-o")
        .arg(format!("{}[Q=80,strip]", output.display()));
    if one_thread {
        c.env("VIPS_CONCURRENCY", "1");
    }
    c
}

fn dimensions(path: &Path) -> anyhow::Result<(u32, u32)> {
    Ok(image::ImageReader::open(path)?
        .with_guessed_format()?
        .into_dimensions()?)
}

/// `VmHWM` of this process, in KiB.
fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run one child to its end; its wall time, CPU time and peak RSS.
fn measure(cmd: &mut Command) -> anyhow::Result<Sample> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("cannot run {cmd:?}"))?;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; `pid` is our own
    // child, not yet reaped (`Child` never waits unless asked).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{cmd:?} failed (wait status {status})");
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let field = |name: &str| {
        out.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<u128>().ok())
    };
    let out_bytes = match field("bytes") {
        Some(b) => b as u64,
        None => output_size(cmd).unwrap_or(0),
    };
    Ok(Sample {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
        inner: field("ns")
            .filter(|&ns| ns > 0)
            .map(|ns| Duration::from_nanos(ns as u64)),
        out_bytes,
    })
}

/// The size of the file after `-o` in a `vipsthumbnail` command.
fn output_size(cmd: &Command) -> Option<u64> {
    let args: Vec<_> = cmd.get_args().collect();
    let i = args.iter().position(|a| *a == "-o")?;
    let spec = args.get(i + 1)?.to_str()?;
    let path = spec.split('[').next()?;
    std::fs::metadata(path).ok().map(|m| m.len())
}

// ---- the report ----------------------------------------------------------

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort();
    v[(v.len() - 1) / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_table(
    samples: &[(Step, Tool, Sample)],
    count: usize,
    repeat: usize,
    input_sizes: &[u64],
    vips_version: &str,
    inputs: &[(PathBuf, u16)],
) {
    let pick = |step: Step, tool: Tool| -> Vec<Sample> {
        samples
            .iter()
            .filter(|(s, t, _)| *s == step && *t == tool)
            .map(|(_, _, x)| *x)
            .collect()
    };
    let portrait = inputs.iter().filter(|(_, o)| *o == 6).count();
    println!(
        "{count} photos, 4000x3000, JPEG q90 with EXIF ({portrait} with orientation 6); \
         input {} / {} / {} bytes (min / median / max); each step {repeat} times per photo, \
         a fresh process each time; {vips_version}",
        thousands(*input_sizes.iter().min().unwrap_or(&0)),
        thousands(median(input_sizes.to_vec())),
        thousands(*input_sizes.iter().max().unwrap_or(&0)),
    );
    println!();
    println!(
        "| Step | Tool | Process wall, median / max (ms) | In the function, median / max (ms) \
         | CPU user+sys, median (ms) | Peak RSS, median / max (MiB) | Output, median (bytes) \
         | Wall, ours ÷ this |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let rows = [
        (
            Step::Startup,
            Tool::Ours,
            "Start-up: read the photo",
            "ours (`photo-bench idle`)",
        ),
        (Step::Startup, Tool::Vips, "", "`vipsheader`"),
        (
            Step::Phone,
            Tool::Ours,
            "Phone: 12 MP → 1,600 px, q80",
            "`prepare_photo`",
        ),
        (Step::Phone, Tool::Vips, "", "`vipsthumbnail`"),
        (Step::Phone, Tool::Vips1, "", "`vipsthumbnail`, 1 thread"),
        (
            Step::Phone,
            Tool::VipsBatch,
            "",
            "`vipsthumbnail`, all photos in one process, per photo ¹",
        ),
        (
            Step::Phone,
            Tool::VipsBatch1,
            "",
            "`vipsthumbnail`, 1 thread, all photos in one process, per photo ¹",
        ),
        (
            Step::Server,
            Tool::Ours,
            "Server: 1,600 px → 320 px",
            "`check_and_thumbnail`",
        ),
        (Step::Server, Tool::Vips, "", "`vipsthumbnail`"),
        (Step::Server, Tool::Vips1, "", "`vipsthumbnail`, 1 thread"),
    ];
    for (step, tool, step_name, tool_name) in rows {
        let s = pick(step, tool);
        if s.is_empty() {
            continue;
        }
        let wall = median(s.iter().map(|x| x.wall).collect());
        let wall_max = s.iter().map(|x| x.wall).max().unwrap_or_default();
        let inner: Vec<Duration> = s.iter().filter_map(|x| x.inner).collect();
        let inner = if inner.is_empty() {
            "–".to_string()
        } else {
            format!(
                "{} / {}",
                ms(median(inner.clone())),
                ms(*inner.iter().max().unwrap_or(&Duration::ZERO))
            )
        };
        let cpu = median(s.iter().map(|x| x.cpu).collect());
        let rss = median(s.iter().map(|x| x.max_rss_kib).collect());
        let rss_max = s.iter().map(|x| x.max_rss_kib).max().unwrap_or(0);
        let bytes = if step == Step::Startup {
            "–".to_string()
        } else {
            thousands(median(s.iter().map(|x| x.out_bytes).collect()))
        };
        let ratio = if tool == Tool::Ours {
            "–".to_string()
        } else {
            let ours = median(pick(step, Tool::Ours).iter().map(|x| x.wall).collect());
            format!("{:.2}", ours.as_secs_f64() / wall.as_secs_f64())
        };
        println!(
            "| {step_name} | {tool_name} | {} / {} | {inner} | {} | {} / {} | {bytes} | {ratio} |",
            ms(wall),
            ms(wall_max),
            ms(cpu),
            mib(rss),
            mib(rss_max),
        );
    }
}

// ---- camera-like photos --------------------------------------------------

/// A `width`x`height` JPEG at quality 90 that looks, to a codec, like a
/// camera photo: a sky with a smooth gradient and soft clouds, hills on the
/// horizon, textured fields (grass at several scales), a few houses with
/// sharp edges and windows, and sensor noise over everything; an EXIF block
/// (APP1, first after SOI as cameras write it) with orientation, make and
/// model, capture time and GPS. Written at `scratch`, then returned.
fn camera_jpeg(
    width: u32,
    height: u32,
    seed: u32,
    orientation: u16,
    scratch: &Path,
) -> anyhow::Result<Vec<u8>> {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    let houses = houses(width, height, seed);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows_per = (height as usize).div_ceil(threads);
    std::thread::scope(|scope| {
        for (t, chunk) in pixels.chunks_mut(rows_per * width as usize * 3).enumerate() {
            let houses = &houses;
            scope.spawn(move || {
                let y0 = (t * rows_per) as u32;
                let mut rng = Rng::new(u64::from(seed) << 32 | u64::from(y0));
                for (i, px) in chunk.chunks_exact_mut(3).enumerate() {
                    let x = i as u32 % width;
                    let y = y0 + i as u32 / width;
                    let rgb = scene(x, y, width, height, seed, houses);
                    // Sensor noise: luminance (sum of two uniforms, σ ≈ 3.3)
                    // and a little chroma.
                    let n = rng.unit() as f32 * 8.0 + rng.unit() as f32 * 8.0 - 8.0;
                    let c = rng.unit() as f32 * 4.0 - 2.0;
                    px[0] = (rgb[0] + n + c).clamp(0.0, 255.0) as u8;
                    px[1] = (rgb[1] + n).clamp(0.0, 255.0) as u8;
                    px[2] = (rgb[2] + n - c).clamp(0.0, 255.0) as u8;
                }
            });
        }
    });
    // Encoded by libjpeg-turbo through libvips, with 4:2:0 chroma
    // subsampling as phone cameras write it (the `image` crate's encoder
    // writes 4:4:4 only, and vips turns subsampling off at Q >= 90 unless
    // told).
    let ppm = scratch.with_extension("ppm");
    let mut raw = format!("P6\n{width} {height}\n255\n").into_bytes();
    raw.extend_from_slice(&pixels);
    drop(pixels);
    write(&ppm, &raw)?;
    drop(raw);
    let status = Command::new("vips")
        .arg("jpegsave")
        .arg(&ppm)
        .arg(scratch)
        .args(["--Q", "90", "--subsample-mode", "on"])
        .status()
        .context("cannot run `vips jpegsave`")?;
    let _ = std::fs::remove_file(&ppm);
    if !status.success() {
        bail!("vips jpegsave failed: {status}");
    }
    let jpeg = read(scratch)?;
    let camera = Exif::camera("Jishi", "photo-bench camera", orientation);
    Ok(with_exif(&jpeg, &camera.tiff()))
}

fn hash(x: i32, y: i32, seed: u32) -> u32 {
    let mut h = (x as u32).wrapping_mul(0x27D4_EB2D)
        ^ (y as u32).wrapping_mul(0x1656_67B1)
        ^ seed.wrapping_mul(0x9E37_79B9);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^ (h >> 15)
}

/// Smooth value noise in [0, 1]: random values on a unit lattice, blended.
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let (ix, iy) = (x0 as i32, y0 as i32);
    let v = |dx, dy| (hash(ix + dx, iy + dy, seed) >> 8) as f32 / (1 << 24) as f32;
    let top = v(0, 0) + (v(1, 0) - v(0, 0)) * sx;
    let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * sx;
    top + (bottom - top) * sy
}

/// Octaves of value noise from `scale` pixels down, halving; about [-1, 1].
fn fbm(x: f32, y: f32, scale: f32, octaves: u32, seed: u32) -> f32 {
    let (mut sum, mut amp, mut norm, mut s) = (0.0, 1.0, 0.0, scale);
    for o in 0..octaves {
        sum += amp * (value_noise(x / s, y / s, seed.wrapping_add(o * 7919)) * 2.0 - 1.0);
        norm += amp;
        amp *= 0.6;
        s *= 0.5;
    }
    sum / norm
}

struct House {
    x0: u32,
    x1: u32,
    /// Top of the wall and the ground line.
    top: u32,
    ground: u32,
    wall: [f32; 3],
}

fn houses(width: u32, height: u32, seed: u32) -> Vec<House> {
    let mut rng = Rng::new(u64::from(seed));
    let mut houses: Vec<House> = (0..5)
        .map(|_| {
            let w = (width as f32 * (0.06 + 0.06 * rng.unit() as f32)) as u32;
            let x0 = (rng.unit() as f32 * (width - w) as f32) as u32;
            let ground = (height as f32 * (0.58 + 0.25 * rng.unit() as f32)) as u32;
            let h = (w as f32 * (0.45 + 0.2 * rng.unit() as f32)) as u32;
            let tint = rng.unit() as f32 * 30.0;
            House {
                x0,
                x1: x0 + w,
                top: ground - h,
                ground,
                wall: [215.0 - tint, 205.0 - tint, 190.0 - tint * 1.5],
            }
        })
        .collect();
    houses.sort_by_key(|h| std::cmp::Reverse(h.ground));
    houses
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// The noiseless colour of pixel (x, y).
fn scene(x: u32, y: u32, width: u32, height: u32, seed: u32, houses: &[House]) -> [f32; 3] {
    let (fx, fy) = (x as f32, y as f32);
    let (w, h) = (width as f32, height as f32);
    let phase = seed as f32;
    // Houses in front of everything, the nearest (lowest ground line) first.
    for house in houses {
        let roof = (house.x1 - house.x0) as f32 * 0.35;
        let mid = (house.x0 + house.x1) as f32 / 2.0;
        let half = (house.x1 - house.x0) as f32 / 2.0 * 1.1;
        let in_roof = fy < house.top as f32
            && fy >= house.top as f32 - roof * (1.0 - (fx - mid).abs() / half);
        if in_roof && (fx - mid).abs() < half {
            let shade = if fx < mid { 0.85 } else { 1.0 };
            let t = fbm(fx, fy, 6.0, 2, seed ^ 0x55) * 10.0;
            return [150.0 * shade + t, 62.0 * shade + t, 45.0 * shade + t];
        }
        if x >= house.x0 && x < house.x1 && y >= house.top && y < house.ground {
            let (lx, ly) = (x - house.x0, y - house.top);
            let cell = (house.x1 - house.x0) / 5;
            let (cx, cy) = (lx % cell, ly % cell);
            let window = lx > cell / 2
                && lx < (house.x1 - house.x0) - cell / 2
                && cx > cell / 4
                && cx < cell * 3 / 4
                && cy > cell / 4
                && cy < cell * 3 / 4
                && ly < (house.ground - house.top) - cell / 2;
            if window {
                let glint = fbm(fx, fy, 20.0, 2, seed ^ 0x77) * 25.0;
                return [55.0 + glint, 70.0 + glint, 85.0 + glint];
            }
            let t = fbm(fx, fy, 24.0, 3, seed ^ 0x33) * 8.0;
            return [house.wall[0] + t, house.wall[1] + t, house.wall[2] + t];
        }
    }
    let tau = std::f32::consts::TAU;
    let horizon = h
        * (0.45
            + 0.05 * (fx / w * tau * 1.3 + phase).sin()
            + 0.025 * (fx / w * tau * 3.7 + 2.0 * phase).sin())
        + 60.0 * fbm(fx, 0.0, 250.0, 4, seed ^ 0x11);
    if fy < horizon {
        // Sky: deep blue at the top to pale at the horizon, soft clouds.
        let t = fy / horizon.max(1.0);
        let sky = mix([70.0, 120.0, 200.0], [195.0, 212.0, 230.0], t * t);
        let cloud = fbm(fx, fy * 2.5, 700.0, 5, seed ^ 0x22);
        let cover = ((cloud - 0.1) * 3.0).clamp(0.0, 1.0);
        let puff = fbm(fx, fy, 40.0, 3, seed ^ 0x23) * 12.0 * cover;
        let c = mix(sky, [238.0, 238.0, 242.0], cover);
        return [c[0] + puff, c[1] + puff, c[2] + puff];
    }
    // Ground: fields of green and ochre, hills darker in the distance, grass
    // texture from 200 px down to a few pixels, stronger nearer the camera.
    let depth = ((fy - horizon) / (h - horizon).max(1.0)).clamp(0.0, 1.0);
    let field = fbm(fx, fy * 3.0, 500.0, 3, seed ^ 0x44);
    let base = mix([72.0, 112.0, 44.0], [150.0, 125.0, 70.0], field * 1.5 + 0.4);
    let base = mix([95.0, 115.0, 120.0], base, depth * 4.0); // haze at the horizon
    let grass = fbm(fx, fy, 200.0, 7, seed ^ 0x66) * (20.0 + 40.0 * depth);
    let blades = fbm(fx * 0.6, fy * 1.6, 4.0, 3, seed ^ 0x67) * 40.0 * (0.3 + 0.7 * depth);
    let l = grass + blades;
    [base[0] + l, base[1] + l * 1.1, base[2] + l * 0.7]
}
