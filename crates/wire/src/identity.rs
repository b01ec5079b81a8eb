//! What a connection says about its item type, so that a peer built for another type
//! refuses at the handshake: the type's shape in the serde data model, traced from
//! its `Deserialize` impl, or a name and version the user pins.
//!
//! See `docs/decisions/0009-item-identity.md` for the why.

use std::any::TypeId;
use std::collections::{BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;

use crate::frame::fnv1a;
use crate::trace::{Body, Def, Shape, Slot, Tracer, body_slots};

/// The identity of an item type on the wire: a readable description and a 64-bit
/// fingerprint. Two ends talk only when their fingerprints agree; when they do not,
/// the refusal shows both descriptions.
///
/// - [`Identity::of`] traces the type's shape in the serde data model: container
///   names as serde sees them (no module path), field names and types, every
///   variant. Two programs that define the same shape under any module path agree;
///   a field added, renamed or retyped, a variant added, a container renamed, and
///   they do not.
/// - [`Identity::named`] pins a name and a version instead: the shape is not looked
///   at, so bump the version when it changes.
///
/// ```
/// use consumer_wire::Identity;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64, qty: u32 }
///
/// let id = Identity::of::<Order>();
/// assert_eq!(id.to_string(), "Order { id: u64, qty: u32 }");
/// assert_ne!(id.fingerprint(), Identity::of::<(u64, u32)>().fingerprint());
/// let pinned = Identity::named("orders.Order", 2);
/// assert_eq!(pinned, Identity::named("orders.Order", 2));
/// assert_ne!(pinned, Identity::named("orders.Order", 3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    description: Arc<str>,
    fingerprint: u64,
    /// The pin, for a named identity: request/reply derives the reply's from it.
    pin: Option<(Arc<str>, u32)>,
}

/// The version of the canonical encoding: hashed in front of it, bumped with it.
const ENCODING: &[u8] = b"consumer-identity/1";

impl Identity {
    /// The identity of `T`, from its shape in the serde data model, traced once per
    /// type and cached.
    ///
    /// The description reads like Rust: `Order { id: u64, lines: Vec<Line { sku:
    /// String, qty: u32 }> }`, `enum Side { Buy, Sell }`, `Option<T>`, `Vec<T>` (any
    /// sequence), `Map<K, V>`, `(A, B)`, `[T; n]` (a tuple of three or more of one
    /// shape: arrays), `bytes`, `()`. A container is spelled out where it first
    /// appears and named after that (so recursive types end). The fingerprint hashes
    /// a canonical binary encoding of the same shape, not the description.
    ///
    /// # Types that cannot be traced
    ///
    /// A `Deserialize` impl that needs a self-describing format (`deserialize_any`,
    /// as `#[serde(flatten)]`, `untagged` enums and `serde_json::Value` do — the
    /// binary codecs cannot carry those either), one that refuses every made-up value
    /// (zeros, then ones), one that panics, or a generic container used with two
    /// different parameters in one item type: the identity falls back to the type's
    /// name without module paths (`Vec<Order>`), marked `(untraced: why)`. That is
    /// blind to the shape: pin such types with [`Identity::named`].
    ///
    /// ```
    /// use consumer_wire::Identity;
    ///
    /// mod a { #[derive(serde::Deserialize)] pub struct Point { pub x: i32, pub y: i32 } }
    /// mod b { #[derive(serde::Deserialize)] pub struct Point { pub x: i32, pub y: i32 } }
    /// assert_eq!(Identity::of::<a::Point>(), Identity::of::<b::Point>());
    /// assert_eq!(Identity::of::<Option<Vec<u8>>>().to_string(), "Option<Vec<u8>>");
    /// ```
    pub fn of<T: Deserialize<'static> + 'static>() -> Identity {
        static CACHE: OnceLock<Mutex<HashMap<TypeId, Identity>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Mutex::default);
        let key = TypeId::of::<T>();
        if let Some(id) = lock(cache).get(&key) {
            return id.clone();
        }
        // Traced outside the lock: a Deserialize impl may itself ask for identities.
        let id = trace::<T>();
        lock(cache).entry(key).or_insert(id).clone()
    }

    /// An identity pinned by name and version: both ends that use it agree whatever
    /// their types look like; bump the version when the shape changes.
    ///
    /// ```
    /// let id = consumer_wire::Identity::named("orders.Order", 1);
    /// assert_eq!(id.to_string(), "orders.Order v1");
    /// ```
    pub fn named(name: &str, version: u32) -> Identity {
        Identity {
            description: format!("{name} v{version}").into(),
            fingerprint: fnv1a(&[b"named", name.as_bytes(), &version.to_le_bytes()]),
            pin: Some((name.into(), version)),
        }
    }

    /// The identity a pinned identity gives a related stream: `name.part` at the
    /// same version. `None` when this identity is not pinned. Request/reply pins the
    /// request stream and derives the reply stream's as `part("reply")`.
    ///
    /// ```
    /// use consumer_wire::Identity;
    ///
    /// let reply = Identity::named("pricing", 3).part("reply").unwrap();
    /// assert_eq!(reply, Identity::named("pricing.reply", 3));
    /// assert!(Identity::of::<u8>().part("reply").is_none());
    /// ```
    pub fn part(&self, part: &str) -> Option<Identity> {
        let (name, version) = self.pin.as_ref()?;
        Some(Identity::named(&format!("{name}.{part}"), *version))
    }

    /// The 64-bit fingerprint carried in the handshake.
    ///
    /// ```
    /// let id = consumer_wire::Identity::named("x", 1);
    /// assert_eq!(id.fingerprint(), id.clone().fingerprint());
    /// ```
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The readable description, as [`Display`](fmt::Display) writes it and the
    /// handshake carries it.
    ///
    /// ```
    /// assert_eq!(consumer_wire::Identity::of::<(u8, String)>().description(), "(u8, String)");
    /// ```
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The map is whole after every insert: a panic elsewhere cannot tear it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Traces `T` (made-up zeros first, then ones); falls back to its short name.
fn trace<T: Deserialize<'static>>() -> Identity {
    let attempt = |one| {
        std::panic::catch_unwind(|| Tracer::trace::<T>(one)).unwrap_or_else(|_| {
            Err(crate::trace::TraceError(
                "its Deserialize impl panicked".into(),
            ))
        })
    };
    match attempt(false).or_else(|_| attempt(true)) {
        Ok(t) => {
            let mut description = String::new();
            Render {
                t: &t,
                seen: BTreeSet::new(),
                out: &mut description,
            }
            .shape(0);
            let mut encoding = ENCODING.to_vec();
            Encode {
                t: &t,
                seen: BTreeSet::new(),
                out: &mut encoding,
            }
            .shape(0);
            Identity {
                description: description.into(),
                fingerprint: fnv1a(&[b"traced", &encoding]),
                pin: None,
            }
        }
        Err(e) => {
            let name = short_name(std::any::type_name::<T>());
            tracing::debug!(r#type = %name, reason = %e, "item type not traced");
            Identity {
                description: format!("{name} (untraced: {e})").into(),
                fingerprint: fnv1a(&[b"untraced", name.as_bytes()]),
                pin: None,
            }
        }
    }
}

/// A type name without module paths: `alloc::vec::Vec<my::Order>` → `Vec<Order>`.
fn short_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(segment);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                segment = out.len();
            }
        }
    }
    out
}

/// Writes the readable description: containers in full where they first appear.
struct Render<'a> {
    t: &'a Tracer,
    seen: BTreeSet<&'static str>,
    out: &'a mut String,
}

impl Render<'_> {
    fn shape(&mut self, slot: Slot) {
        match &self.t.slots[slot] {
            Shape::Unknown => self.out.push('?'),
            Shape::Prim(p) => self.out.push_str(p),
            Shape::Option(c) => self.wrap("Option<", &[*c], ">"),
            Shape::Seq(c) => self.wrap("Vec<", &[*c], ">"),
            Shape::Map(k, v) => self.wrap("Map<", &[*k, *v], ">"),
            Shape::Tuple(cs) if cs.len() >= 3 && cs.iter().all(|&c| same(self.t, c, cs[0])) => {
                self.out.push('[');
                self.shape(cs[0]);
                let _ = write!(self.out, "; {}]", cs.len());
            }
            Shape::Tuple(cs) if cs.len() == 1 => self.wrap("(", cs, ",)"),
            Shape::Tuple(cs) => self.wrap("(", cs, ")"),
            Shape::Named(n) => {
                let def = self.t.defs.get(n).filter(|_| self.seen.insert(n));
                if let Some(Def::Enum(_)) = def {
                    self.out.push_str("enum ");
                }
                self.out.push_str(n);
                match def {
                    Some(Def::Struct(b)) => self.body(b),
                    Some(Def::Enum(vs)) => {
                        self.out.push_str(" { ");
                        for (i, v) in vs.iter().enumerate() {
                            if i > 0 {
                                self.out.push_str(", ");
                            }
                            self.out.push_str(v.name);
                            if let Some(b) = &v.body {
                                self.body(b);
                            }
                        }
                        self.out.push_str(" }");
                    }
                    None => {}
                }
            }
        }
    }

    fn wrap(&mut self, open: &str, cs: &[Slot], close: &str) {
        self.out.push_str(open);
        self.list(cs);
        self.out.push_str(close);
    }

    fn list(&mut self, cs: &[Slot]) {
        for (i, &c) in cs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.shape(c);
        }
    }

    fn body(&mut self, b: &Body) {
        match b {
            Body::Unit => {}
            Body::Newtype(c) => self.wrap("(", &[*c], ")"),
            Body::Tuple(cs) => self.wrap("(", cs, ")"),
            Body::Struct(fs) if fs.is_empty() => self.out.push_str(" {}"),
            Body::Struct(fs) => {
                self.out.push_str(" { ");
                for (i, (f, c)) in fs.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(f);
                    self.out.push_str(": ");
                    self.shape(*c);
                }
                self.out.push_str(" }");
            }
        }
    }
}

/// Whether two slots hold the same shape (named containers compared by name).
fn same(t: &Tracer, a: Slot, b: Slot) -> bool {
    match (&t.slots[a], &t.slots[b]) {
        (Shape::Option(x), Shape::Option(y)) | (Shape::Seq(x), Shape::Seq(y)) => same(t, *x, *y),
        (Shape::Map(k, v), Shape::Map(l, w)) => same(t, *k, *l) && same(t, *v, *w),
        (Shape::Tuple(xs), Shape::Tuple(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(t, *x, *y))
        }
        (x, y) => x == y,
    }
}

/// Writes the canonical encoding the fingerprint hashes: the same walk as
/// [`Render`], every shape a tag byte, every name and count length-prefixed, so no
/// two shapes share an encoding.
///
/// ```text
/// shape   = 0 unknown | 1 str(primitive) | 2 shape (Option) | 3 shape (sequence)
///         | 4 shape shape (map) | 5 u32 shape* (tuple)
///         | 6 str(name) def (first appearance) | 7 str(name) (later ones)
/// def     = body | 15 u32 (str(variant) 0 | str(variant) 1 body)*   (enum)
/// body    = 10 (unit) | 11 shape (newtype) | 12 u32 shape* (tuple)
///         | 13 u32 (str(field) shape)* (struct)
/// str     = u32 length, UTF-8 bytes; u32 little-endian
/// ```
struct Encode<'a> {
    t: &'a Tracer,
    seen: BTreeSet<&'static str>,
    out: &'a mut Vec<u8>,
}

impl Encode<'_> {
    fn str(&mut self, s: &str) {
        self.count(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn count(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn shape(&mut self, slot: Slot) {
        match &self.t.slots[slot] {
            Shape::Unknown => self.out.push(0),
            Shape::Prim(p) => {
                self.out.push(1);
                self.str(p);
            }
            Shape::Option(c) => {
                self.out.push(2);
                self.shape(*c);
            }
            Shape::Seq(c) => {
                self.out.push(3);
                self.shape(*c);
            }
            Shape::Map(k, v) => {
                self.out.push(4);
                self.shape(*k);
                self.shape(*v);
            }
            Shape::Tuple(cs) => {
                self.out.push(5);
                self.count(cs.len());
                cs.iter().for_each(|&c| self.shape(c));
            }
            Shape::Named(n) if !self.seen.insert(n) => {
                self.out.push(7);
                self.str(n);
            }
            Shape::Named(n) => {
                self.out.push(6);
                self.str(n);
                match self.t.defs.get(n) {
                    Some(Def::Struct(b)) => self.body(b),
                    Some(Def::Enum(vs)) => {
                        self.out.push(15);
                        self.count(vs.len());
                        for v in vs {
                            self.str(v.name);
                            match &v.body {
                                None => self.out.push(0),
                                Some(b) => {
                                    self.out.push(1);
                                    self.body(b);
                                }
                            }
                        }
                    }
                    None => self.out.push(0),
                }
            }
        }
    }

    fn body(&mut self, b: &Body) {
        match b {
            Body::Unit => self.out.push(10),
            Body::Newtype(c) => {
                self.out.push(11);
                self.shape(*c);
            }
            Body::Tuple(_) => {
                self.out.push(12);
                self.count(body_slots(b).len());
                body_slots(b).into_iter().for_each(|c| self.shape(c));
            }
            Body::Struct(fs) => {
                self.out.push(13);
                self.count(fs.len());
                for (f, c) in fs {
                    self.str(f);
                    self.shape(*c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
