//! Array columns whose elements are never NULL: diesel reads every
//! PostgreSQL array as `Array<Nullable<_>>`; these read them as plain
//! vectors (`#[diesel(deserialize_as = …)]`).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int2, Nullable, Text};

macro_rules! non_null_array {
    ($(#[$meta:meta])* $name:ident: $sql:ty => $item:ty) => {
        $(#[$meta])*
        pub struct $name(Vec<$item>);

        impl Queryable<Array<Nullable<$sql>>, Pg> for $name {
            type Row = Vec<Option<$item>>;

            fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
                Ok($name(row.into_iter().flatten().collect()))
            }
        }

        impl From<$name> for Vec<$item> {
            fn from(items: $name) -> Vec<$item> {
                items.0
            }
        }
    };
}

non_null_array!(
    /// A `UUID[]`.
    Ids: diesel::sql_types::Uuid => uuid::Uuid
);
non_null_array!(
    /// A `TEXT[]`.
    Texts: Text => String
);
non_null_array!(
    /// A `SMALLINT[]`.
    SmallInts: Int2 => i16
);
