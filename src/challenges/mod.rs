//! Challenges and incentives as the domain sees them: what one is made of
//! ([`definition`]), how it moves through its life ([`lifecycle`]), and its standings,
//! live or frozen ([`standings`]).

pub mod actions;
pub mod awarding;
pub mod definition;
pub mod engine;
pub mod lifecycle;
pub mod reading;
pub mod scripted;
pub mod simulation;
pub mod standings;
