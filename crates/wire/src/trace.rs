//! Tracing a type's shape in the serde data model: a `Deserializer` that answers
//! every request with a made-up value and writes down what was asked for.
//!
//! One pass deserializes one value of `T`. Every position (the root, a field of a
//! named container, the content of an `Option`, a sequence or a map) is a slot in an
//! arena, shared by every value of the same container name, so a recursive type
//! reaches the same slots again. Passes repeat until every slot is known and every
//! variant of every enum reached has been visited. Recursion is cut at the places
//! where serde can stop without a value: an `Option` says `None`, a sequence or a map
//! is empty, an enum picks a variant already known to end. Everything is bounded:
//! depth, steps and passes; whatever goes wrong is an error, never a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};

/// An index into the tracer's arena of shapes.
pub(crate) type Slot = usize;

/// What one position holds, as far as it is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Unknown,
    /// `bool`, `u8`…`i128`, `f32`, `f64`, `char`, `String`, `bytes`, `()`.
    Prim(&'static str),
    Option(Slot),
    Seq(Slot),
    Map(Slot, Slot),
    Tuple(Vec<Slot>),
    /// A named container: its body is in [`Tracer::defs`].
    Named(&'static str),
}

/// The body of a struct or of an enum's variant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Unit,
    Newtype(Slot),
    Tuple(Vec<Slot>),
    Struct(Vec<(&'static str, Slot)>),
}

/// A named container's definition.
#[derive(Debug, Clone)]
pub(crate) enum Def {
    Struct(Body),
    Enum(Vec<Variant>),
}

/// One variant of an enum: its body once visited.
#[derive(Debug, Clone)]
pub(crate) struct Variant {
    pub(crate) name: &'static str,
    pub(crate) body: Option<Body>,
    /// Being traced in the current pass (an enclosing value chose it).
    busy: bool,
}

/// Why a type could not be traced.
#[derive(Debug)]
pub(crate) struct TraceError(pub(crate) String);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        TraceError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, TraceError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(TraceError(message.into()))
}

/// Named containers nested deeper than this are refused.
const MAX_DEPTH: usize = 128;
/// Deserializer calls per pass.
const MAX_STEPS: usize = 100_000;
/// Passes per trace.
const MAX_PASSES: usize = 1_000;

/// A finished or running trace: the arena, the named definitions, the root at slot 0.
#[derive(Debug)]
pub(crate) struct Tracer {
    pub(crate) slots: Vec<Shape>,
    pub(crate) defs: BTreeMap<&'static str, Def>,
    stack: Vec<&'static str>,
    steps: usize,
    /// The made-up numbers: 0 on the first attempt, 1 on the second (for types that
    /// refuse zero, like `NonZeroU32`).
    one: bool,
}

impl Tracer {
    /// Traces `T` until its shape is complete.
    pub(crate) fn trace<T: de::Deserialize<'static>>(one: bool) -> Result<Tracer> {
        let mut t = Tracer {
            slots: vec![Shape::Unknown],
            defs: BTreeMap::new(),
            stack: Vec::new(),
            steps: 0,
            one,
        };
        let mut progress = 0;
        for _ in 0..MAX_PASSES {
            t.stack.clear();
            t.steps = 0;
            drop(T::deserialize(De { t: &mut t, slot: 0 })?);
            if !t.incomplete(0, &mut BTreeSet::new()) {
                return Ok(t);
            }
            let now = t.progress();
            if now == progress {
                return fail("tracing made no progress: a variant or a position is never reached");
            }
            progress = now;
        }
        fail(format!(
            "the shape was not complete after {MAX_PASSES} passes"
        ))
    }

    /// Known slots plus visited variants: grows with every useful pass.
    fn progress(&self) -> usize {
        let known = self.slots.iter().filter(|s| **s != Shape::Unknown).count();
        let variants = self.defs.values().map(|d| match d {
            Def::Enum(vs) => vs.iter().filter(|v| v.body.is_some()).count(),
            Def::Struct(_) => 0,
        });
        known + variants.sum::<usize>()
    }

    fn new_slot(&mut self) -> Slot {
        self.slots.push(Shape::Unknown);
        self.slots.len() - 1
    }

    /// Records `shape` at `slot`, or checks that it agrees with what is there.
    fn set(&mut self, slot: Slot, shape: Shape) -> Result<()> {
        match &self.slots[slot] {
            Shape::Unknown => {
                self.slots[slot] = shape;
                Ok(())
            }
            old if *old == shape => Ok(()),
            old => fail(format!(
                "one position holds two shapes ({old:?} and {shape:?}): two containers \
                 with one name (a generic container used with two parameters?) or a \
                 Deserialize impl that changes its mind"
            )),
        }
    }

    /// The child slots of an `Option`, a sequence, a map or a tuple at `slot`.
    fn children(
        &mut self,
        slot: Slot,
        make: fn(Vec<Slot>) -> Shape,
        n: usize,
    ) -> Result<Vec<Slot>> {
        let existing = match &self.slots[slot] {
            Shape::Option(c) | Shape::Seq(c) => Some(vec![*c]),
            Shape::Map(k, v) => Some(vec![*k, *v]),
            Shape::Tuple(cs) => Some(cs.clone()),
            _ => None,
        };
        if let Some(cs) = existing
            && cs.len() == n
            && make(cs.clone()) == self.slots[slot]
        {
            return Ok(cs);
        }
        let cs: Vec<Slot> = (0..n).map(|_| self.new_slot()).collect();
        self.set(slot, make(cs.clone()))?;
        Ok(cs)
    }

    /// Enters the named container `name` at `slot`: its definition, made by `make`
    /// the first time and checked by `same` after that.
    fn enter(&mut self, slot: Slot, name: &'static str, def: Def) -> Result<()> {
        self.set(slot, Shape::Named(name))?;
        match self.defs.get(name) {
            None => {
                self.defs.insert(name, def);
            }
            Some(old) if same_outline(old, &def) => {}
            Some(_) => {
                return fail(format!(
                    "two containers named `{name}` with different fields or variants"
                ));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return fail(format!("containers nested more than {MAX_DEPTH} deep"));
        }
        self.stack.push(name);
        Ok(())
    }

    fn leave(&mut self) {
        self.stack.pop();
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return fail(format!("more than {MAX_STEPS} steps in one value"));
        }
        Ok(())
    }

    /// Whether an `Option`, sequence or map should produce a value for the child
    /// slots `cs`: when something there is still unknown and going there does not
    /// re-enter a container being traced.
    fn descend(&self, cs: &[Slot]) -> bool {
        if cs.iter().any(|&c| self.slots[c] == Shape::Unknown) {
            return true;
        }
        !cs.iter().any(|&c| self.on_stack(c))
            && cs.iter().any(|&c| self.incomplete(c, &mut BTreeSet::new()))
    }

    /// Whether the shape at `slot` names, directly (not through another container's
    /// fields), a container being traced.
    fn on_stack(&self, slot: Slot) -> bool {
        match &self.slots[slot] {
            Shape::Unknown | Shape::Prim(_) => false,
            Shape::Option(c) | Shape::Seq(c) => self.on_stack(*c),
            Shape::Map(k, v) => self.on_stack(*k) || self.on_stack(*v),
            Shape::Tuple(cs) => cs.iter().any(|&c| self.on_stack(c)),
            Shape::Named(n) => self.stack.contains(n),
        }
    }

    fn body_on_stack(&self, body: &Body) -> bool {
        body_slots(body).iter().any(|&c| self.on_stack(c))
    }

    /// Whether anything reachable from `slot` is unknown or an unvisited variant.
    fn incomplete(&self, slot: Slot, seen: &mut BTreeSet<&'static str>) -> bool {
        match &self.slots[slot] {
            Shape::Unknown => true,
            Shape::Prim(_) => false,
            Shape::Option(c) | Shape::Seq(c) => self.incomplete(*c, seen),
            Shape::Map(k, v) => self.incomplete(*k, seen) || self.incomplete(*v, seen),
            Shape::Tuple(cs) => cs.iter().any(|&c| self.incomplete(c, seen)),
            Shape::Named(n) => {
                if !seen.insert(n) {
                    return false;
                }
                match self.defs.get(n) {
                    None => true,
                    Some(Def::Struct(b)) => self.body_incomplete(b, seen),
                    Some(Def::Enum(vs)) => vs.iter().any(|v| match &v.body {
                        None => true,
                        Some(b) => self.body_incomplete(b, seen),
                    }),
                }
            }
        }
    }

    fn body_incomplete(&self, body: &Body, seen: &mut BTreeSet<&'static str>) -> bool {
        body_slots(body).iter().any(|&c| self.incomplete(c, seen))
    }

    /// The variant of `name` this value takes: one never visited first; else one
    /// that leads to something unvisited without re-entering a container being
    /// traced; else one that ends.
    fn choose(&self, name: &'static str) -> Result<usize> {
        let Some(Def::Enum(vs)) = self.defs.get(name) else {
            return fail(format!("`{name}` is not an enum"));
        };
        if let Some(i) = vs.iter().position(|v| v.body.is_none() && !v.busy) {
            return Ok(i);
        }
        let ends = |v: &Variant| !v.busy && v.body.as_ref().is_some_and(|b| !self.body_on_stack(b));
        let leads = |v: &Variant| {
            ends(v)
                && v.body
                    .as_ref()
                    .is_some_and(|b| self.body_incomplete(b, &mut BTreeSet::new()))
        };
        vs.iter()
            .position(leads)
            .or_else(|| vs.iter().position(ends))
            .or_else(|| vs.iter().position(|v| !v.busy && v.body.is_some()))
            .map_or_else(
                || {
                    fail(format!(
                        "enum `{name}`: every variant recurses, no value ends"
                    ))
                },
                Ok,
            )
    }

    fn variant(&mut self, name: &'static str, i: usize) -> &mut Variant {
        match self.defs.get_mut(name) {
            Some(Def::Enum(vs)) => &mut vs[i],
            _ => unreachable!("choose checked that `name` is an enum"),
        }
    }

    /// Records a variant's body (or checks it against the one recorded), returning
    /// the body with its slots.
    fn variant_body(
        &mut self,
        name: &'static str,
        i: usize,
        make: impl FnOnce(&mut Tracer) -> Body,
    ) -> Result<Body> {
        if let Some(b) = self.variant(name, i).body.clone() {
            let fresh = make(self);
            if !same_body_outline(&b, &fresh) {
                return fail(format!("enum `{name}`: a variant changed its shape"));
            }
            return Ok(b);
        }
        let b = make(self);
        self.variant(name, i).body = Some(b.clone());
        Ok(b)
    }

    fn new_slots(&mut self, n: usize) -> Vec<Slot> {
        (0..n).map(|_| self.new_slot()).collect()
    }

    fn fields(&mut self, names: &'static [&'static str]) -> Vec<(&'static str, Slot)> {
        names.iter().map(|&f| (f, self.new_slot())).collect()
    }
}

/// The slots a body holds.
pub(crate) fn body_slots(body: &Body) -> Vec<Slot> {
    match body {
        Body::Unit => Vec::new(),
        Body::Newtype(c) => vec![*c],
        Body::Tuple(cs) => cs.clone(),
        Body::Struct(fs) => fs.iter().map(|(_, c)| *c).collect(),
    }
}

/// Same kind of body, same field names and count (slots aside).
fn same_body_outline(a: &Body, b: &Body) -> bool {
    match (a, b) {
        (Body::Unit, Body::Unit) | (Body::Newtype(_), Body::Newtype(_)) => true,
        (Body::Tuple(x), Body::Tuple(y)) => x.len() == y.len(),
        (Body::Struct(x), Body::Struct(y)) => x.iter().map(|f| f.0).eq(y.iter().map(|f| f.0)),
        _ => false,
    }
}

fn same_outline(a: &Def, b: &Def) -> bool {
    match (a, b) {
        (Def::Struct(x), Def::Struct(y)) => same_body_outline(x, y),
        (Def::Enum(x), Def::Enum(y)) => x.iter().map(|v| v.name).eq(y.iter().map(|v| v.name)),
        _ => false,
    }
}

/// The slots of a named struct-like container, from its definition.
fn struct_slots(t: &Tracer, name: &'static str) -> Vec<Slot> {
    match t.defs.get(name) {
        Some(Def::Struct(b)) => body_slots(b),
        _ => Vec::new(),
    }
}

/// The deserializer of one position.
struct De<'t> {
    t: &'t mut Tracer,
    slot: Slot,
}

macro_rules! prim {
    ($($method:ident $visit:ident $ty:ty, $name:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.t.step()?;
            self.t.set(self.slot, Shape::Prim($name))?;
            visitor.$visit(<$ty>::from(self.t.one))
        }
    )*};
}

impl De<'_> {
    /// A struct or tuple struct named `name` with `body`: entered, its fields
    /// visited in order, left.
    fn structure<'de, V: Visitor<'de>>(
        self,
        name: &'static str,
        body: Body,
        visitor: V,
    ) -> Result<V::Value> {
        self.t.enter(self.slot, name, Def::Struct(body))?;
        let slots = struct_slots(self.t, name);
        let value = visitor.visit_seq(Elems {
            t: &mut *self.t,
            slots,
            next: 0,
        });
        self.t.leave();
        value
    }
}

impl<'de> de::Deserializer<'de> for De<'_> {
    type Error = TraceError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its Deserialize impl calls `deserialize_any` (it needs a self-describing format)")
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its Deserialize impl calls `deserialize_ignored_any`")
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        fail("its Deserialize impl asks for an identifier outside an enum")
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        self.t.set(self.slot, Shape::Prim("bool"))?;
        visitor.visit_bool(self.t.one)
    }

    prim! {
        deserialize_i8 visit_i8 i8, "i8";
        deserialize_i16 visit_i16 i16, "i16";
        deserialize_i32 visit_i32 i32, "i32";
        deserialize_i64 visit_i64 i64, "i64";
        deserialize_i128 visit_i128 i128, "i128";
        deserialize_u8 visit_u8 u8, "u8";
        deserialize_u16 visit_u16 u16, "u16";
        deserialize_u32 visit_u32 u32, "u32";
        deserialize_u64 visit_u64 u64, "u64";
        deserialize_u128 visit_u128 u128, "u128";
        deserialize_f32 visit_f32 f32, "f32";
        deserialize_f64 visit_f64 f64, "f64";
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        self.t.set(self.slot, Shape::Prim("char"))?;
        visitor.visit_char('a')
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        self.t.set(self.slot, Shape::Prim("String"))?;
        visitor.visit_borrowed_str(if self.t.one { "a" } else { "" })
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        self.t.set(self.slot, Shape::Prim("bytes"))?;
        visitor.visit_borrowed_bytes(if self.t.one { b"a" } else { b"" })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        let c = self.t.children(self.slot, |cs| Shape::Option(cs[0]), 1)?[0];
        if self.t.descend(&[c]) {
            visitor.visit_some(De { t: self.t, slot: c })
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        self.t.set(self.slot, Shape::Prim("()"))?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.t.step()?;
        self.t.enter(self.slot, name, Def::Struct(Body::Unit))?;
        self.t.leave();
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.t.step()?;
        let c = self.t.new_slot();
        self.t
            .enter(self.slot, name, Def::Struct(Body::Newtype(c)))?;
        let c = struct_slots(self.t, name)[0];
        let value = visitor.visit_newtype_struct(De {
            t: &mut *self.t,
            slot: c,
        });
        self.t.leave();
        value
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        let c = self.t.children(self.slot, |cs| Shape::Seq(cs[0]), 1)?[0];
        let n = usize::from(self.t.descend(&[c]));
        visitor.visit_seq(Elems {
            t: self.t,
            slots: vec![c; n],
            next: 0,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        let slots = self.t.children(self.slot, Shape::Tuple, len)?;
        visitor.visit_seq(Elems {
            t: self.t,
            slots,
            next: 0,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.t.step()?;
        let cs = self.t.new_slots(len);
        self.structure(name, Body::Tuple(cs), visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.t.step()?;
        let cs = self
            .t
            .children(self.slot, |cs| Shape::Map(cs[0], cs[1]), 2)?;
        let n = usize::from(self.t.descend(&cs));
        visitor.visit_map(Entries {
            t: self.t,
            key: cs[0],
            value: cs[1],
            left: n,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.t.step()?;
        let fs = self.t.fields(fields);
        self.structure(name, Body::Struct(fs), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.t.step()?;
        if variants.is_empty() {
            return fail(format!(
                "enum `{name}` has no variants: no value of it exists"
            ));
        }
        let vs = variants.iter().map(|&name| Variant {
            name,
            body: None,
            busy: false,
        });
        self.t.enter(self.slot, name, Def::Enum(vs.collect()))?;
        let i = match self.t.choose(name) {
            Ok(i) => i,
            Err(e) => {
                self.t.leave();
                return Err(e);
            }
        };
        self.t.variant(name, i).busy = true;
        let value = visitor.visit_enum(Choice {
            t: &mut *self.t,
            name,
            index: i,
            variant: variants[i],
        });
        self.t.variant(name, i).busy = false;
        self.t.leave();
        value
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The elements of a sequence, tuple or struct (structs are read as sequences, as
/// the binary codecs read them).
struct Elems<'t> {
    t: &'t mut Tracer,
    slots: Vec<Slot>,
    next: usize,
}

impl<'de> de::SeqAccess<'de> for Elems<'_> {
    type Error = TraceError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        let Some(&slot) = self.slots.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        seed.deserialize(De {
            t: &mut *self.t,
            slot,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.slots.len() - self.next)
    }
}

/// A map of zero or one entry.
struct Entries<'t> {
    t: &'t mut Tracer,
    key: Slot,
    value: Slot,
    left: usize,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = TraceError;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(De {
            t: &mut *self.t,
            slot: self.key,
        })
        .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value> {
        seed.deserialize(De {
            t: &mut *self.t,
            slot: self.value,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The chosen variant of an enum.
struct Choice<'t> {
    t: &'t mut Tracer,
    name: &'static str,
    index: usize,
    variant: &'static str,
}

impl<'de, 't> de::EnumAccess<'de> for Choice<'t> {
    type Error = TraceError;
    type Variant = Choice<'t>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Choice<'t>)> {
        let id = seed.deserialize(VariantId {
            name: self.variant,
            index: self.index,
        })?;
        Ok((id, self))
    }
}

impl<'de> de::VariantAccess<'de> for Choice<'_> {
    type Error = TraceError;

    fn unit_variant(self) -> Result<()> {
        self.t
            .variant_body(self.name, self.index, |_| Body::Unit)
            .map(drop)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value> {
        let b = self
            .t
            .variant_body(self.name, self.index, |t| Body::Newtype(t.new_slot()))?;
        seed.deserialize(De {
            t: self.t,
            slot: body_slots(&b)[0],
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let b = self
            .t
            .variant_body(self.name, self.index, |t| Body::Tuple(t.new_slots(len)))?;
        visitor.visit_seq(Elems {
            t: self.t,
            slots: body_slots(&b),
            next: 0,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let b = self
            .t
            .variant_body(self.name, self.index, |t| Body::Struct(t.fields(fields)))?;
        visitor.visit_seq(Elems {
            t: self.t,
            slots: body_slots(&b),
            next: 0,
        })
    }
}

/// A variant's identifier: its name to a string visitor, its index to a number one.
struct VariantId {
    name: &'static str,
    index: usize,
}

impl<'de> de::Deserializer<'de> for VariantId {
    type Error = TraceError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.name)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.index as u64)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.index as u64)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.index as u64)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.index as u64)
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}
