//! The simulated county: the people of a county (townships, villages,
//! cadres with Chinese names and posts), what they write in a day (Chinese
//! texts fit for the season and the place), one seeded random source, the
//! camera's photos and their EXIF, and the phone: a real replica file driven over real
//! HTTP as the app drives it. One world for `jishi demo`, the load
//! generator (`jishi-load`) and the tests.
//!
//! Nothing here is part of the server: the server builds without this
//! crate (the `demo` feature of `backend` brings it in for `jishi demo`).

pub mod content;
pub mod county;
pub mod exif;
pub mod http;
pub mod phone;
pub mod picture;
pub mod rng;

pub use rng::Rng;
