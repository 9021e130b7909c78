//! Configuration: one typed tree, layered by figment, changeable at runtime through the API.

mod loader;
mod model;
mod runtime;
mod secret;
mod skills;
mod usage;

pub use loader::{ConfigError, ConfigLoader, Layer, Overlay, leaf_paths};
pub use model::*;
pub use runtime::{ConfigService, ConfigUpdate, ConfigUpdateError};
pub use secret::{REDACTED, Secret};
pub use skills::{SkillsConfig, SkillsMode};
pub use usage::UsageConfig;
