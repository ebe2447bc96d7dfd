//! The narrow read interface a run needs from a bar store.

use super::{Cache, Slice};
use crate::Result;
use chrono::NaiveDate;
use sextant_domain::{Bar, HeldBar, PriceBasis, Resolution, SeriesKey, SessionModel, Symbol};

/// What loading a backtest's inputs needs from a bar store: bars (raw or in a price basis), the
/// bars the range leaves out, and the hashes that make a run's data snapshot. Services depend on
/// this, not on the whole store, so the store behind a run can be the server's DuckDB file, a
/// read connection, or a file loaded in memory.
pub trait BarReader: Send + Sync {
    /// Raw bars of `symbol` with sessions in `[from, to]`, oldest first (see [`Cache::bars`]).
    fn bars(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Bar>>;

    /// Bars in a price basis (see [`Cache::bars_on`]).
    fn bars_on(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        basis: PriceBasis,
    ) -> Result<Vec<Bar>>;

    /// Bars inside the range held for review or rejected (see [`Cache::held_bars`]).
    fn held_bars(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<HeldBar>>;

    /// sha256 over the exact bars of `slice` (see [`Cache::snapshot_hash`]).
    fn snapshot_hash(&self, slice: &Slice) -> Result<String>;

    /// Whether the series carries any adjustment information (see
    /// [`Cache::adjustment_known`]).
    fn adjustment_known(&self, symbol: &Symbol, resolution: Resolution) -> Result<bool>;

    /// Kept bars flagged as split-like moves (see [`Cache::split_like_moves`]).
    fn split_like_moves(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<NaiveDate>>;

    /// The session model `symbols` share (see [`Cache::common_session`]).
    fn common_session(&self, symbols: &[Symbol]) -> Result<SessionModel>;

    /// `(available_from, value)` of an economic series (see [`Cache::economic_available`]).
    fn economic_available(&self, key: &SeriesKey) -> Result<Vec<(NaiveDate, f64)>>;

    /// sha256 over the corporate actions after `to` (see [`Cache::actions_hash`]).
    fn actions_hash(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        to: Option<NaiveDate>,
    ) -> Result<String>;
}

impl BarReader for Cache {
    fn common_session(&self, symbols: &[Symbol]) -> Result<SessionModel> {
        Cache::common_session(self, symbols)
    }

    fn economic_available(&self, key: &SeriesKey) -> Result<Vec<(NaiveDate, f64)>> {
        Cache::economic_available(self, key)
    }

    fn split_like_moves(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<NaiveDate>> {
        Cache::split_like_moves(self, symbol, resolution, from, to)
    }

    fn adjustment_known(&self, symbol: &Symbol, resolution: Resolution) -> Result<bool> {
        Cache::adjustment_known(self, symbol, resolution)
    }

    fn bars(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Bar>> {
        Cache::bars(self, symbol, resolution, from, to)
    }

    fn bars_on(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        basis: PriceBasis,
    ) -> Result<Vec<Bar>> {
        Cache::bars_on(self, symbol, resolution, from, to, basis)
    }

    fn held_bars(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<HeldBar>> {
        Cache::held_bars(self, symbols, resolution, from, to)
    }

    fn snapshot_hash(&self, slice: &Slice) -> Result<String> {
        Cache::snapshot_hash(self, slice)
    }

    fn actions_hash(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        to: Option<NaiveDate>,
    ) -> Result<String> {
        Cache::actions_hash(self, symbols, resolution, to)
    }
}
