//! Named schemas for request fields that several operations share, so each
//! rule (length, pattern, range) is written once and appears once in the
//! OpenAPI document.

use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Free text: not only spaces; tabs and line breaks allowed, other control
/// characters not.
const FREE_TEXT: &str = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$";
/// One line: not only spaces, no control characters.
const ONE_LINE: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $description:literal, $min:expr, $max:expr, $pattern:expr, $example:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let mut schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .min_length(Some($min))
                    .max_length(Some($max))
                    .pattern(Some($pattern))
                    .build();
                // A realistic value: documentation pages otherwise show one
                // made from the pattern.
                schema.example = Some($example.into());
                Schema::Object(schema).into()
            }
        }

        impl ToSchema for $name {}
    };
}

string_schema!(
    /// A reason or purpose.
    Memo, "A reason or purpose: 1–500 characters, not only spaces.", 1, 500, FREE_TEXT,
    "Storyboard renders for the October challenge"
);
string_schema!(
    /// A person's display name.
    DisplayNameText, "1–80 characters on one line, not only spaces.", 1, 80, ONE_LINE,
    "Ada Lovelace"
);
string_schema!(
    /// A new password.
    NewPassword, "10–128 characters, not only spaces.", 10, 128, "\\S",
    "correct horse battery staple"
);

/// A named use of [`Memo`]: the same rule, its own description and example.
fn memo_as(description: &str, example: &str) -> RefOr<Schema> {
    let mut schema = AllOfBuilder::new()
        .item(Ref::from_schema_name(Memo::name()))
        .description(Some(description))
        .build();
    schema.example = Some(example.into());
    Schema::AllOf(schema).into()
}

/// What credits are spent or held for.
pub struct Purpose;

impl PartialSchema for Purpose {
    fn schema() -> RefOr<Schema> {
        memo_as(
            "What the credits pay for, as the talent will read it in their history.",
            "Storyboard renders, 4 × 1024×1024",
        )
    }
}

impl ToSchema for Purpose {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Memo::name().into(), Memo::schema()));
    }
}

/// Why credits are granted or a transaction reversed.
pub struct Reason;

impl PartialSchema for Reason {
    fn schema() -> RefOr<Schema> {
        memo_as(
            "Why, as the talent will read it in their history; also kept in the audit log.",
            "Thanks for mentoring the October cohort",
        )
    }
}

impl ToSchema for Reason {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Memo::name().into(), Memo::schema()));
    }
}

/// An amount of credits in one operation.
pub struct Credits;

impl PartialSchema for Credits {
    fn schema() -> RefOr<Schema> {
        let mut schema = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .description(Some("Whole credits, 1 to 1,000,000,000."))
            .minimum(Some(1))
            .maximum(Some(1_000_000_000))
            .build();
        schema.example = Some(100.into());
        Schema::Object(schema).into()
    }
}

impl ToSchema for Credits {}
