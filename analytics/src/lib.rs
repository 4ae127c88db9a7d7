//! The analytics of lrdbench: what is recorded about every plugin call and workflow step.
//!
//! [`event`] defines the records. They are the only analytics types that derive `Serialize`:
//! they are what the store keeps, what exports write and what reports read.
#![deny(missing_docs)]

pub mod event;
