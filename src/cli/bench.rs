//! `innfer bench`: throughput of training, sampling, ABC and data generation.

use anyhow::Result;
use clap::Args;

use super::Context;

/// Measure throughput (medians over repeats, after a warm-up): training steps/s of the INN and the
/// cINN, posterior samples/s, ABC draws/s, data generation samples/s.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Repeats per measurement; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: u32,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `innfer bench`.
pub fn run(args: BenchArgs, context: Context) -> Result<()> {
    let report = crate::app::bench::run(context.device, args.repeats as usize, &mut |name| eprintln!("bench: {name}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("device {}, {} threads, libtorch {}, median of {} repeats\n", report.device, report.threads, report.libtorch, report.repeats);
    println!("| benchmark | median | unit | configuration |\n|---|---|---|---|");
    for m in &report.measurements {
        println!("| {} | {:.4e} | {} | {} |", m.name, m.median, m.unit, m.config);
    }
    Ok(())
}
