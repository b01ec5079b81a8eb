//! The identity's promises: one shape under any module path is one identity; any
//! change of shape is another; pins ignore the shape; recursion ends; and the
//! fingerprints of fixed types never change.

// The test types exist for their shapes: their fields are never read.
#![allow(dead_code, reason = "only the shapes matter")]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Identity, short_name};

fn id<T: Deserialize<'static> + 'static>() -> Identity {
    Identity::of::<T>()
}

mod one {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) qty: u32,
    }
}

mod two {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) qty: u32,
    }
}

#[derive(Deserialize)]
struct Order {
    id: u64,
    qty: u32,
    note: String,
}

mod renamed_field {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) quantity: u32,
    }
}

mod retyped {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) qty: u64,
    }
}

mod renamed_struct {
    #[derive(serde::Deserialize)]
    pub(super) struct Purchase {
        pub(super) id: u64,
        pub(super) qty: u32,
    }
}

mod side_a {
    #[derive(serde::Deserialize)]
    pub(super) enum Side {
        Buy,
        Sell,
    }
}

mod side_b {
    #[derive(serde::Deserialize)]
    pub(super) enum Side {
        Buy,
        Sell,
        Short { borrowed: bool },
    }
}

#[test]
fn one_shape_in_two_modules_is_one_identity() {
    assert_eq!(id::<one::Order>(), id::<two::Order>());
    assert_eq!(
        id::<one::Order>().to_string(),
        "Order { id: u64, qty: u32 }"
    );
    assert_eq!(id::<Vec<one::Order>>(), id::<Vec<two::Order>>());
}

#[test]
fn every_change_of_shape_is_another_identity() {
    let base = id::<one::Order>().fingerprint();
    for (what, other) in [
        ("field added", id::<Order>()),
        ("field renamed", id::<renamed_field::Order>()),
        ("field retyped", id::<retyped::Order>()),
        ("struct renamed", id::<renamed_struct::Purchase>()),
        ("a tuple of the same fields", id::<(u64, u32)>()),
    ] {
        assert_ne!(other.fingerprint(), base, "{what}: {other}");
    }
    assert_ne!(id::<side_a::Side>(), id::<side_b::Side>(), "variant added");
    assert_eq!(
        id::<side_b::Side>().to_string(),
        "enum Side { Buy, Sell, Short { borrowed: bool } }"
    );
    assert_ne!(id::<u32>(), id::<u64>());
    assert_ne!(id::<Option<u8>>(), id::<Vec<u8>>());
}

#[test]
fn pins_ignore_the_shape() {
    let pin = Identity::named("orders.Order", 1);
    assert_eq!(pin, Identity::named("orders.Order", 1));
    assert_ne!(pin, Identity::named("orders.Order", 2));
    assert_ne!(pin, Identity::named("orders.Orders", 1));
    assert_ne!(pin.fingerprint(), id::<one::Order>().fingerprint());
    assert_eq!(
        pin.part("reply").unwrap().to_string(),
        "orders.Order.reply v1"
    );
}

#[derive(Deserialize)]
struct Tree {
    value: u32,
    children: Vec<Tree>,
    parent: Option<Box<Tree>>,
}

#[derive(Deserialize)]
enum Expr {
    Add(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Num(i64),
    Let {
        name: String,
        value: Box<Expr>,
        body: Box<Expr>,
    },
}

#[derive(Deserialize)]
struct Forest {
    trees: BTreeMap<String, Tree>,
    exprs: (Expr, [Expr; 3]),
    labels: Vec<Label>,
}

#[derive(Deserialize)]
enum Label {
    Plain,
    Tagged(Tag),
}

#[derive(Deserialize)]
enum Tag {
    Red,
    Green(u8),
    Blue { depth: std::num::NonZeroU32 },
}

#[test]
fn recursive_and_nested_types_are_traced_whole() {
    assert_eq!(
        id::<Tree>().to_string(),
        "Tree { value: u32, children: Vec<Tree>, parent: Option<Tree> }"
    );
    assert_eq!(
        id::<Expr>().to_string(),
        "enum Expr { Add(Expr, Expr), Neg(Expr), Num(i64), \
         Let { name: String, value: Expr, body: Expr } }"
    );
    // Every variant of an enum nested in another enum's variant, a map, an array,
    // a type that refuses zero.
    assert_eq!(
        id::<Forest>().to_string(),
        "Forest { trees: Map<String, Tree { value: u32, children: Vec<Tree>, parent: \
         Option<Tree> }>, exprs: (enum Expr { Add(Expr, Expr), Neg(Expr), Num(i64), \
         Let { name: String, value: Expr, body: Expr } }, [Expr; 3]), labels: \
         Vec<enum Label { Plain, Tagged(enum Tag { Red, Green(u8), Blue { depth: u32 } }) }> }"
    );
}

#[derive(Deserialize)]
struct Flat {
    id: u64,
    #[serde(flatten)]
    rest: BTreeMap<String, u8>,
}

#[derive(Deserialize)]
struct Picky(u8);

#[derive(Deserialize)]
#[serde(try_from = "u8")]
struct Never(u8);

impl TryFrom<u8> for Never {
    type Error = &'static str;
    fn try_from(_: u8) -> Result<Never, &'static str> {
        Err("never")
    }
}

#[derive(Deserialize)]
struct Pair<T> {
    left: Wrap<T>,
    right: Wrap<String>,
}

#[derive(Deserialize)]
struct Wrap<T> {
    inner: T,
}

#[test]
fn untraceable_types_fall_back_to_their_short_name() {
    let flat = id::<Flat>();
    assert!(flat.to_string().starts_with("Flat (untraced: "), "{flat}");
    assert!(flat.to_string().contains("identifier"), "{flat}");
    let never = id::<Vec<Never>>();
    assert!(
        never.to_string().starts_with("Vec<Never> (untraced: "),
        "{never}"
    );
    let pair = id::<Pair<u8>>();
    assert!(
        pair.to_string().starts_with("Pair<u8> (untraced: "),
        "{pair}"
    );
    // One generic container with one parameter is fine.
    assert_eq!(
        id::<Pair<String>>().to_string(),
        "Pair { left: Wrap { inner: String }, right: Wrap }"
    );
    assert_ne!(id::<Flat>(), id::<Never>());
    assert_eq!(id::<Picky>().to_string(), "Picky(u8)");
}

#[test]
fn short_names_drop_module_paths() {
    assert_eq!(
        short_name("alloc::vec::Vec<my::mod_a::Order>"),
        "Vec<Order>"
    );
    assert_eq!(
        short_name("(u8, std::collections::BTreeMap<a::K, b::V>)"),
        "(u8, BTreeMap<K, V>)"
    );
}

/// Stability: these fingerprints are protocol. Two programs built months apart, by
/// different compilers, must compute the same numbers, so this test fails if the
/// canonical encoding, the hash, or what tracing sees ever changes. If the change
/// is intended, bump `ENCODING` and the handshake's version, and update the numbers.
#[test]
fn fingerprints_of_fixed_types_never_change() {
    let fixed = [
        (id::<u64>(), "u64", 0x34fec76619564e82),
        (
            id::<one::Order>(),
            "Order { id: u64, qty: u32 }",
            0xf7e14ed7766d02a4,
        ),
        (
            id::<side_b::Side>(),
            "enum Side { Buy, Sell, Short { borrowed: bool } }",
            0x796855de92a00ea8,
        ),
        (
            id::<Tree>(),
            "Tree { value: u32, children: Vec<Tree>, parent: Option<Tree> }",
            0xf4e972732e75cb53,
        ),
        (
            Identity::named("orders.Order", 1),
            "orders.Order v1",
            0xaef01a35c52bf44d,
        ),
    ];
    for (id, description, fingerprint) in fixed {
        assert_eq!(id.to_string(), description);
        assert_eq!(
            id.fingerprint(),
            fingerprint,
            "{description}: {:#018x}",
            id.fingerprint()
        );
    }
}
