//! What a connection says about its item type, so that a peer built for another type
//! refuses at the handshake.

use std::fmt;

use crate::frame::fnv1a;

/// The identity of an item type on the wire: a name, a version and a fingerprint.
///
/// Two ends talk only when their identities' fingerprints agree.
///
/// ```
/// use consumer_wire::Identity;
///
/// assert_ne!(Identity::of::<u32>().fingerprint(), Identity::of::<u64>().fingerprint());
/// let pinned = Identity::named("orders.Order", 2);
/// assert_eq!(pinned, Identity::named("orders.Order", 2));
/// assert_ne!(pinned, Identity::named("orders.Order", 3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    description: String,
    fingerprint: u64,
}

impl Identity {
    /// The identity of `T`, from its type name.
    ///
    /// ```
    /// let id = consumer_wire::Identity::of::<String>();
    /// assert!(id.to_string().contains("String"));
    /// ```
    pub fn of<T: ?Sized + 'static>() -> Identity {
        let name = std::any::type_name::<T>();
        Identity {
            description: format!("`{name}`"),
            fingerprint: fnv1a(&[name.as_bytes()]),
        }
    }

    /// An identity pinned by name and version: both ends that use it agree whatever
    /// their types are called; bump the version when the shape changes.
    ///
    /// ```
    /// let id = consumer_wire::Identity::named("orders.Order", 1);
    /// assert_eq!(id.to_string(), "orders.Order v1");
    /// ```
    pub fn named(name: &str, version: u32) -> Identity {
        Identity {
            description: format!("{name} v{version}"),
            fingerprint: fnv1a(&[b"named", name.as_bytes(), &version.to_le_bytes()]),
        }
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
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}
