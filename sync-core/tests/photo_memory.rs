//! A 50 MP camera photo (8160 × 6144, as phones' 50 MP sensors write) is
//! prepared within a memory bound (issue 31): the JPEG is decoded at a
//! reduced scale in the IDCT and never is in memory whole (150 MB as RGB).
//! Its own test binary: the allocator that measures the peak counts every
//! allocation of the process, and no other test may run beside it.

#![cfg(feature = "photo-prepare")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use sync_core::photo::{prepare_photo, PhotoOptions};

/// The system allocator, counting the bytes held and their peak.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = HELD.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the
// counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `GlobalAlloc::alloc`, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `GlobalAlloc::alloc_zeroed`, forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as `GlobalAlloc::dealloc`, forwarded.
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `GlobalAlloc::realloc`, forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HELD.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
/// What preparing the photo may hold at its peak beyond its input.
const BOUND: usize = 48 * MIB;

/// A camera-like 8160 × 6144 JPEG: smooth shading and some texture.
fn fifty_megapixels() -> Vec<u8> {
    let (w, h) = (8160u32, 6144u32);
    let img = RgbImage::from_fn(w, h, |x, y| {
        let t = ((x / 7) ^ (y / 5)) as u8 & 0x1f;
        Rgb([
            (x * 255 / w) as u8 ^ t,
            (y * 255 / h) as u8,
            ((x + y) / 64) as u8 ^ t,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encoding the test photo");
    out.into_inner()
}

#[test]
fn a_50_mp_photo_is_prepared_within_the_memory_bound() {
    let jpeg = fifty_megapixels();
    let before = HELD.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let prepared = prepare_photo(&jpeg, &PhotoOptions::default()).expect("a 50 MP photo");
    let peak = PEAK.load(Ordering::SeqCst) - before;
    println!(
        "50 MP JPEG of {} KiB: prepared to {}x{} ({} KiB) with a peak of {:.1} MiB held",
        jpeg.len() / 1024,
        prepared.width,
        prepared.height,
        prepared.jpeg.len() / 1024,
        peak as f64 / MIB as f64
    );
    assert_eq!((prepared.width, prepared.height), (1600, 1205));
    assert!(
        peak <= BOUND,
        "preparing a 50 MP photo held {peak} bytes at its peak; the bound is {BOUND}"
    );
    // The picture survived the scaled decode: the left edge is dark in red,
    // the right edge bright.
    let small = image::load_from_memory(&prepared.jpeg).unwrap().to_rgb8();
    let left = small.get_pixel(2, 600).0[0];
    let right = small.get_pixel(1597, 600).0[0];
    assert!(left < 60 && right > 190, "left {left}, right {right}");
}
