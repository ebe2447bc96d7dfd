#![warn(missing_docs)]
//! Domain types shared by every Sextant crate.
//!
//! These types carry no I/O: the data layer, the simulator, the ML code and the HTTP API all speak
//! in [`Bar`]s, [`Resolution`]s and [`Symbol`]s so that no layer depends on another's storage.

mod bar;
pub mod dates;
mod equity;
pub mod events;
pub mod floats;
mod ids;
pub mod instrument;
pub mod prices;
mod quarantine;
mod resolution;
mod role;
mod symbol;

pub use bar::{Bar, Source};
pub use equity::EquityPoint;
pub use events::{
    DividendEvent, EconomicSeries, Indicator, InvalidSeriesKey, Observation, SeriesKey, SplitEvent,
};
pub use ids::{is_plain_name, InvalidId, ModelId, RunId};
pub use instrument::{AssetClass, Instrument, InvalidInstrument, Placement, SessionModel};
pub use prices::PriceBasis;
pub use quarantine::{HeldBar, QuarantineStatus};
pub use resolution::{ParseResolutionError, Resolution};
pub use role::Role;
pub use symbol::{InvalidSymbol, Symbol};

/// The exchange time zone used when a provider does not name one (US equities).
pub const DEFAULT_EXCHANGE_TZ: &str = "America/New_York";
