//! `sextant regime history|show`: regimes of a symbol or an equal-weight universe, labelled by
//! the forward filter of a model fitted up to `--fit-to` (no label uses a later day).

use crate::output::table;
use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use sextant_core::regimes::{history, RegimeHistory};
use sextant_core::Services;
use sextant_domain::Symbol;

/// The regime commands.
#[derive(Subcommand)]
pub enum RegimeCmd {
    /// Every day's label and its probabilities (`--format csv`: ts, label, one column per state).
    ///
    /// Example: sextant regime history --symbol AAPL --symbol IBM --symbol MSFT --fit-to 2007-12-31 --format csv
    History(RegimeArgs),
    /// The newest day's label, and each regime's statistics and share of days.
    Show(RegimeArgs),
}

/// Output format.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
}

/// What to label.
#[derive(Args)]
pub struct RegimeArgs {
    /// A symbol of the universe (repeat for an equal-weight universe).
    #[arg(long = "symbol", required = true)]
    symbols: Vec<Symbol>,
    /// Hidden states, 1 to 8.
    #[arg(long, default_value_t = 3)]
    states: usize,
    /// Fit on days up to this date only (YYYY-MM-DD); later labels are out of sample. Default:
    /// every day (then every label is in sample).
    #[arg(long)]
    fit_to: Option<NaiveDate>,
    /// Seed of the fit's starting points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First day printed (history).
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day printed (history).
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Output format (history).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// Runs a regime command.
pub fn run(cmd: RegimeCmd, s: &Services) -> Result<()> {
    match cmd {
        RegimeCmd::History(a) => {
            let h = fit(&a, s)?;
            let header: Vec<String> = ["ts".to_string(), "label".to_string()]
                .into_iter()
                .chain(h.states.iter().map(|r| format!("p_{r}")))
                .collect();
            let rows: Vec<Vec<String>> = h
                .rows
                .iter()
                .filter(|r| a.from.is_none_or(|f| r.date >= f) && a.to.is_none_or(|t| r.date <= t))
                .map(|r| {
                    [r.date.to_string(), r.regime.to_string()]
                        .into_iter()
                        .chain(r.probabilities.iter().map(|p| format!("{p:.6}")))
                        .collect()
                })
                .collect();
            match a.format {
                Format::Csv => {
                    println!("{}", header.join(","));
                    for r in rows {
                        println!("{}", r.join(","));
                    }
                }
                Format::Table => {
                    let h: Vec<&str> = header.iter().map(String::as_str).collect();
                    table(&h, &rows);
                }
            }
            Ok(())
        }
        RegimeCmd::Show(a) => {
            let h = fit(&a, s)?;
            if let Some(last) = h.rows.last() {
                println!("{}: {}", last.date, last.regime);
            }
            let rows: Vec<Vec<String>> = h
                .states
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    let days = h.rows.iter().filter(|r| r.regime == *name).count();
                    vec![
                        name.to_string(),
                        format!("{:.1}%", 100.0 * days as f64 / h.rows.len().max(1) as f64),
                        format!("{:+.4}%", 100.0 * h.model.means[j][0]),
                        format!("{:.3}%", 100.0 * h.model.covs[j][0].sqrt()),
                        format!("{:.1}%", 100.0 * h.model.means[j][1]),
                        format!("{:.3}", h.model.trans[j * h.states.len() + j]),
                        match h.rows.last() {
                            Some(r) => format!("{:.3}", r.probabilities[j]),
                            None => "-".into(),
                        },
                    ]
                })
                .collect();
            table(
                &[
                    "regime",
                    "share of days",
                    "mean daily return",
                    "daily vol",
                    "mean realised vol",
                    "p(stay)",
                    "p(now)",
                ],
                &rows,
            );
            println!(
                "fitted on {} days up to {}; {} days left out (a symbol without a bar)",
                h.fit_rows, h.fitted_to, h.days_left_out
            );
            Ok(())
        }
    }
}

fn fit(a: &RegimeArgs, s: &Services) -> Result<RegimeHistory> {
    Ok(history(
        s.cache.as_ref(),
        &a.symbols,
        a.states,
        a.fit_to,
        a.seed,
    )?)
}
