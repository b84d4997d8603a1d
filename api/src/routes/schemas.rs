//! Named schemas for request fields that several operations share, so each
//! rule (length, pattern, range) is written once and appears once in the
//! OpenAPI document.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Free text: not only spaces; tabs and line breaks allowed, other control
/// characters not.
const FREE_TEXT: &str = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$";
/// One line: not only spaces, no control characters.
const ONE_LINE: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $description:literal, $min:expr, $max:expr, $pattern:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .min_length(Some($min))
                    .max_length(Some($max))
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

string_schema!(
    /// A reason or purpose.
    Memo, "A reason or purpose: 1–500 characters, not only spaces.", 1, 500, FREE_TEXT
);
string_schema!(
    /// A person's display name.
    DisplayNameText, "1–80 characters on one line, not only spaces.", 1, 80, ONE_LINE
);
string_schema!(
    /// A new password.
    NewPassword, "10–128 characters, not only spaces.", 10, 128, "\\S"
);

/// An amount of credits in one operation.
pub struct Credits;

impl PartialSchema for Credits {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .description(Some("Whole credits, 1 to 1,000,000,000."))
            .minimum(Some(1))
            .maximum(Some(1_000_000_000))
            .into()
    }
}

impl ToSchema for Credits {}
