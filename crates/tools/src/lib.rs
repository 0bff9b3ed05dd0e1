#![doc = include_str!("../README.md")]

pub mod check;
pub mod client;
pub mod load;
