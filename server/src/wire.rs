//! Enumerations that mirror a `petition.v1` enum and a SMALLINT column:
//! one macro gives each the same derives, `ALL`, `from_i32` and `as_i16`.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        // Event payloads reach clients: spell values like the proto's
        // (CASE_TRACK_NORMAL → "NORMAL"), not like Rust's.
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[repr(i16)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value from the wire or a column; `None` for unknown values.
            pub fn from_i32(value: i32) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| *v as i32 == value)
            }

            pub fn as_i16(self) -> i16 {
                self as i16
            }
        }
    };
}

pub(crate) use wire_enum;
