//! slcp_distractors: slcp's eight values hidden among 92 distractors drawn from a fixed mixture of
//! 20 Student-t distributions (df 2) that do not depend on θ, all 100 in a fixed order. The mixture
//! and the order are sbibm's, extracted into the sbibm folder by scripts/setup.sh.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::io::table::read_table;

/// Distractor dimensions.
const DIMENSIONS: i64 = 92;
/// Mixture components.
const COMPONENTS: i64 = 20;
/// The components' degrees of freedom.
const DEGREES_OF_FREEDOM: f64 = 2.0;

/// The fixed distribution of the distractors and the order of the outputs.
pub struct Distractors {
    /// Component means, [20, 92] row-major.
    loc: Vec<f64>,
    /// Component scale factors (lower triangular), [20, 92, 92] row-major.
    scale_tril: Vec<f64>,
    /// Output j is input `permutation[j]` of [slcp's 8 values, the 92 distractors].
    permutation: Vec<i64>,
}

/// Loaded once per process.
static LOADED: Mutex<Option<Arc<Distractors>>> = Mutex::new(None);

impl Distractors {
    /// The distractors from the sbibm folder (loaded once).
    pub fn get() -> Result<Arc<Distractors>> {
        let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(distractors) = loaded.as_ref() {
            return Ok(distractors.clone());
        }
        let distractors = Arc::new(Distractors::read(&super::files_folder().join("slcp_distractors"))?);
        *loaded = Some(distractors.clone());
        Ok(distractors)
    }

    fn read(folder: &Path) -> Result<Distractors> {
        let values = |name: &str, rows: usize, columns: usize| -> Result<Vec<f64>> {
            let path: PathBuf = folder.join(name);
            let table = read_table(&path).map_err(|error| {
                Error::invalid(format!(
                    "slcp_distractors needs sbibm's distractor distribution ({error}); run scripts/setup.sh, which extracts it"
                ))
            })?;
            if table.rows() != rows || table.names.len() != columns {
                return Err(Error::invalid(format!("{} is not {rows} rows of {columns}; run scripts/setup.sh again", path.display())));
            }
            Ok(table.values)
        };
        let (components, dimensions) = (COMPONENTS as usize, DIMENSIONS as usize);
        Ok(Distractors {
            loc: values("distractor_loc.csv", components, dimensions)?,
            scale_tril: values("distractor_scale_tril.csv", components * dimensions, dimensions)?,
            permutation: values("permutation.csv", 100, 1)?.into_iter().map(|index| index as i64).collect(),
        })
    }

    /// slcp's values `data` ([n, 8]) with `n` draws of the distractors, in sbibm's order: [n, 100].
    pub fn hide(&self, data: &Tensor) -> Tensor {
        let (n, device) = (data.size()[0], data.device());
        let options = (Kind::Double, device);
        let loc = Tensor::from_slice(&self.loc).view([COMPONENTS, DIMENSIONS]).to_device(device);
        let scale_tril = Tensor::from_slice(&self.scale_tril).view([COMPONENTS, DIMENSIONS, DIMENSIONS]).to_device(device);
        // A multivariate Student-t draw: loc + L·z / √(W/df), W ~ χ²(df) (= 2·Exp(1) for df 2).
        let chi_square = -(Tensor::rand([n, 1], options).log()) * 2.0;
        let z = Tensor::randn([n, DIMENSIONS], options) / (chi_square / DEGREES_OF_FREEDOM).sqrt();
        let component = Tensor::randint(COMPONENTS, [n], (Kind::Int64, device));
        let mut noise = Tensor::zeros([n, DIMENSIONS], options);
        for k in 0..COMPONENTS {
            let rows = component.eq(k).nonzero().view([-1]);
            let draws = z.index_select(0, &rows).matmul(&scale_tril.get(k).transpose(0, 1)) + loc.get(k);
            let _ = noise.index_copy_(0, &rows, &draws);
        }
        let all = Tensor::cat(&[data.to_kind(Kind::Double), noise], 1);
        all.index_select(1, &Tensor::from_slice(&self.permutation).to_device(device)).to_kind(data.kind())
    }
}
