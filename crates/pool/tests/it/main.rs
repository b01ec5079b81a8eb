//! The pool's integration tests, one binary (see the house style).

mod dispatch;
mod keyed;
mod suite;
mod supervision;
mod support;
