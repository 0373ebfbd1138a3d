//! Training on data larger than memory: batches drawn from a shuffle buffer of standardised rows that
//! a [`RowStream`] refills, and whole files held out to validate. Peak memory is the buffer (and a
//! few chunks read ahead), not the data.

use tch::{Kind, Tensor};

use super::config::TrainConfig;
use crate::error::{Error, Result};
use crate::io::dataset::DataFiles;
use crate::io::stream::{held_out_files, RowStream};
use crate::model::Model;
use crate::seeding::{reseed, Stream};

/// A data set read from its files as training goes.
pub struct StreamedData {
    stream: RowStream,
    pending: Pending,
    /// The stream's first rows, raw: the buffer's first fill and the sample that the
    /// standardisation is fitted on.
    first: Tensor,
    x_width: i64,
    /// Training rows in one pass over the files (an epoch).
    pub rows: i64,
    /// The first rows of the held-out files (x, y), raw.
    pub validation: Option<(Tensor, Tensor)>,
}

impl StreamedData {
    /// Opens the `names` columns of `files` (x first, `x_width` of them) for streaming through a
    /// buffer of `buffer_rows` rows. With `validation` above 0, that share of the files (at least
    /// one, chosen by `seed`) is held out whole, and its first `validation_rows` rows validate.
    pub fn open(
        files: &DataFiles,
        names: Vec<String>,
        x_width: i64,
        (validation, validation_rows): (f64, i64),
        buffer_rows: i64,
        config: &TrainConfig,
    ) -> Result<StreamedData> {
        if buffer_rows < config.batch {
            return Err(Error::invalid(format!("--buffer-rows {buffer_rows} is smaller than one batch ({})", config.batch)));
        }
        files.check_columns(&names)?;
        let (held, kept) = held_out_files(files, validation, config.seed)?;
        let rows: i64 = kept.row_counts()?.iter().sum();
        if rows < config.batch {
            return Err(Error::invalid(format!("the training files hold {rows} rows, fewer than one batch ({})", config.batch)));
        }
        let validation =
            if held.files.is_empty() { None } else { Some(split(&held.read_first(&names, validation_rows as usize)?, x_width)) };
        let stream = RowStream::start(kept.files, names, config.seed);
        let mut pending = Pending::default();
        let first = pending.take(&stream, buffer_rows.min(rows))?;
        Ok(StreamedData { stream, pending, first, x_width, rows, validation })
    }

    /// The rows that fit the standardisation: (x, y), raw.
    pub fn first_pairs(&self) -> (Tensor, Tensor) {
        split(&self.first, self.x_width)
    }
}

/// (x, y) of rows of [x | y].
fn split(rows: &Tensor, x_width: i64) -> (Tensor, Tensor) {
    let width = rows.size()[1];
    (rows.narrow(1, 0, x_width), rows.narrow(1, x_width, width - x_width))
}

/// The part of the stream's last chunk not used yet.
#[derive(Default)]
struct Pending(Option<Tensor>);

impl Pending {
    /// The next `count` rows of the stream.
    fn take(&mut self, stream: &RowStream, count: i64) -> Result<Tensor> {
        let mut parts = Vec::new();
        let mut wanted = count;
        while wanted > 0 {
            let chunk = match self.0.take() {
                Some(chunk) => chunk,
                None => stream.next_chunk()?,
            };
            let rows = chunk.size()[0];
            if rows > wanted {
                self.0 = Some(chunk.narrow(0, wanted, rows - wanted));
                parts.push(chunk.narrow(0, 0, wanted));
            } else {
                parts.push(chunk);
            }
            wanted -= rows.min(wanted);
        }
        Ok(Tensor::cat(&parts, 0))
    }
}

/// Batches from a buffer of standardised rows on the model's device: each refill draws a new order
/// of the buffer, batches are served along it, and once half the buffer is served those rows are
/// replaced by the stream's next ones.
pub(super) struct ShuffleBuffer {
    stream: RowStream,
    pending: Pending,
    rows: Tensor,
    x_width: i64,
    order: Tensor,
    served: i64,
    refills: u64,
}

impl ShuffleBuffer {
    /// The buffer, first filled with the data's first rows (standardised by `model`).
    pub(super) fn new(data: StreamedData, model: &Model, seed: u64) -> ShuffleBuffer {
        let rows = standardised(model, &data.first, data.x_width);
        reseed(seed, Stream::Epoch, 0);
        let order = Tensor::randperm(rows.size()[0], (Kind::Int64, rows.device()));
        ShuffleBuffer { stream: data.stream, pending: data.pending, rows, x_width: data.x_width, order, served: 0, refills: 0 }
    }

    /// The standardised rows (x, y) of optimiser step `step`, then reseeds for its noise.
    pub(super) fn batch(&mut self, model: &Model, config: &TrainConfig, step: u64) -> Result<(Tensor, Tensor)> {
        let size = self.rows.size()[0];
        if self.served + config.batch > (size / 2).max(config.batch) {
            let fresh = self.pending.take(&self.stream, self.served)?;
            let places = self.order.narrow(0, 0, self.served);
            let _ = self.rows.index_copy_(0, &places, &standardised(model, &fresh, self.x_width));
            self.refills += 1;
            reseed(config.seed, Stream::Epoch, self.refills);
            self.order = Tensor::randperm(size, (Kind::Int64, self.rows.device()));
            self.served = 0;
        }
        let index = self.order.narrow(0, self.served, config.batch);
        self.served += config.batch;
        reseed(config.seed, Stream::Step, step);
        let (x, y) = split(&self.rows.index_select(0, &index), self.x_width);
        Ok((x.contiguous(), y.contiguous()))
    }
}

/// Raw rows [x | y] standardised by `model`, on its device.
fn standardised(model: &Model, rows: &Tensor, x_width: i64) -> Tensor {
    let (x, y) = split(&rows.to_device(model.device()), x_width);
    let (x, y) = model.standardise(&x, &y);
    Tensor::cat(&[x, y], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::dataset::write_columns;
    use crate::model::{BlockConfig, ModelSpec};
    use crate::problem::data::DataSpec;
    use crate::train::{ModelKind, Preset};
    use tch::Device;

    /// Four files of 100 rows each: x = (n, n) for the row's number n (0–399), y = −n.
    fn numbered_files(folder: &std::path::Path) -> DataFiles {
        for file in 0..4 {
            let x = Tensor::arange_start(file * 100, file * 100 + 100, (Kind::Float, Device::Cpu));
            let rows = Tensor::stack(&[&x, &x, &-&x], 1);
            write_columns(&folder.join(format!("part-{file}.parquet")), &names(), &rows).unwrap();
        }
        DataFiles::resolve(folder.to_str().unwrap()).unwrap()
    }

    fn names() -> Vec<String> {
        ["a", "b", "y"].map(String::from).to_vec()
    }

    /// Until the stream's second pass reaches the buffer, every batch row is a training row seen
    /// for the first time; the held-out file's rows never appear, and they are what validates.
    #[test]
    fn the_buffer_serves_each_training_row_once_per_pass_and_never_a_held_out_one() {
        let folder = tempfile::tempdir().unwrap();
        let files = numbered_files(folder.path());
        let mut config = TrainConfig::preset("data", ModelKind::Cinn, Preset::Quick);
        config.batch = 8;
        let data = StreamedData::open(&files, names(), 2, (0.25, 60), 64, &config).unwrap();
        assert_eq!(data.rows, 300);
        let (held_x, held_y) = data.validation.as_ref().map(|(x, y)| (x.shallow_clone(), y.shallow_clone())).unwrap();
        assert_eq!(held_x.size(), [60, 2]);
        assert!(held_y.equal(&-held_x.narrow(1, 0, 1)));
        let held_file = held_x.double_value(&[0, 0]) as i64 / 100;
        assert!((0..60).all(|row| held_x.double_value(&[row, 0]) as i64 == held_file * 100 + row), "the held-out file's first rows");
        // `check` on the run finds the same held-out rows.
        let mut spec = DataSpec::new(folder.path().to_str().unwrap(), "a,b", "y", 0.25, None).unwrap();
        spec.buffer_rows = Some(64);
        let (check_x, check_y) = spec.held_out_pairs(config.seed, 60).unwrap();
        assert!(check_x.equal(&held_x) && check_y.equal(&held_y), "check reads other held-out rows than training");

        let block = BlockConfig::glow(4, 1);
        let model = Model::new(ModelSpec::cinn(2, 1, 1, block, 0).unwrap(), Device::Cpu).unwrap();
        let mut buffer = ShuffleBuffer::new(data, &model, 3);
        // The buffer holds 64 rows; the first pass's other 236 reach it by refills of 32 rows.
        let served: Vec<i64> = (0..29)
            .flat_map(|step| {
                let (x, y) = buffer.batch(&model, &config, step).unwrap();
                let first = x.narrow(1, 0, 1);
                assert!(y.equal(&-&first) && x.narrow(1, 1, 1).equal(&first));
                Vec::<f32>::try_from(first.view([-1])).unwrap().into_iter().map(|value| value as i64)
            })
            .collect();
        let mut distinct = served.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), served.len(), "a row served twice in one pass");
        assert!(served.iter().all(|row| row / 100 != held_file), "a held-out row was served");
        // Shuffled: not in the order the files were read.
        assert!(served.windows(2).filter(|pair| pair[1] == pair[0] + 1).count() < served.len() / 4, "{served:?}");
    }
}
