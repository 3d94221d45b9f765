//! Saving and restoring the whole training state ([`xrisk::persist`]): for every objective
//! with its optimizer, a run that is saved after a learning-rate decay, restored into freshly
//! built (differently initialised) objects and continued ends bit for bit where the
//! uninterrupted run ends — so no momentum buffer, reference point, dual variable, state
//! table or phase counter is left out of a checkpoint.

use burn::tensor::{Device, Tensor, TensorData};
use xrisk::loss::*;
use xrisk::model::{Mlp, Scorer};
use xrisk::optim::{
    PdscaConfig, PesgConfig, ProximalOptimizer, SkeletonConfig, sgd, soap, sopa, sopa_s, sota_s,
    staco,
};
use xrisk::persist::{param_ids, restore_module, save_module};
use xrisk::train::{Objective, Optimizer};
use xrisk_data::snapshot::Snapshot;

const N: usize = 48;
const DIM: usize = 6;

fn data() -> (Vec<f32>, Vec<f32>) {
    // A fixed pseudo-random design: no RNG crate needed for 288 numbers.
    let x: Vec<f32> = (0..N * DIM)
        .map(|i| (((i * 7919 + 13) % 101) as f32 / 50.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..N).map(|i| if i % 4 == 0 { 1.0 } else { 0.0 }).collect();
    (x, y)
}

/// Batches of 8 ids with two positives each, in a fixed order.
fn batches() -> Vec<Vec<usize>> {
    (0..12)
        .map(|b| {
            let pos = [(b * 4) % N, (b * 4 + 16) % N];
            let neg = (1..=6).map(|k| (b * 4 + k + (k - 1) / 3) % N);
            pos.into_iter().chain(neg).collect()
        })
        .collect()
}

fn case(name: &str, device: &Device) -> (Objective, Optimizer) {
    let aucm = AucmConfig::default();
    let plain = |c: SkeletonConfig| Optimizer::Plain(ProximalOptimizer::new(c));
    match name {
        "aucm+pesg" => (
            Objective::Aucm(AucmLoss::new(aucm, device)),
            Optimizer::Pesg(
                PesgConfig {
                    lr: 0.05,
                    ..PesgConfig::default()
                }
                .init(),
            ),
        ),
        "compositional+pdsca" => (
            Objective::Compositional(CompositionalAucLoss::new(aucm, 2, device).unwrap()),
            Optimizer::Pdsca(
                PdscaConfig {
                    lr: 0.05,
                    ..PdscaConfig::default()
                }
                .init(),
            ),
        ),
        "ap+soap" => (
            Objective::Ap(ApLoss::new(ApConfig::new(N), device).unwrap()),
            plain(soap(0.01)),
        ),
        "pauc_dro+sopa_s" => (
            Objective::PAucDro(PAucDroLoss::new(PAucDroConfig::new(N), device).unwrap()),
            plain(sopa_s(0.01)),
        ),
        "pauc_cvar+sopa" => (
            Objective::PAucCvar(PAucCvarLoss::new(PAucCvarConfig::new(N), device).unwrap()),
            plain(sopa(0.01)),
        ),
        "tpauc_kl+sota_s" => (
            Objective::TpAucKl(TpAucKlLoss::new(TpAucKlConfig::new(N), device).unwrap()),
            plain(sota_s(0.01)),
        ),
        "tpauc_cvar+staco" => (
            Objective::TpAucCvar(TpAucCvarLoss::new(TpAucCvarConfig::new(N), device).unwrap()),
            plain(staco(0.01)),
        ),
        "ce+sgd" => (Objective::Ce(CrossEntropyLoss), plain(sgd(0.05, 0.9))),
        other => panic!("{other}"),
    }
}

struct Run {
    model: Mlp,
    objective: Objective,
    optimizer: Optimizer,
    device: Device,
}

impl Run {
    fn new(name: &str, seed: u64) -> Self {
        let device = Device::flex().autodiff();
        device.seed(seed);
        let model = Mlp::new(DIM, &[5], &device);
        let (objective, optimizer) = case(name, &device);
        Run {
            model,
            objective,
            optimizer,
            device,
        }
    }

    fn ids(&self) -> Vec<burn::module::ParamId> {
        let mut v = param_ids(&self.model);
        v.extend(self.objective.param_ids());
        v
    }

    fn steps(&mut self, range: std::ops::Range<usize>) {
        let (x, y) = data();
        for (step, ids) in batches()
            .iter()
            .enumerate()
            .skip(range.start)
            .take(range.len())
        {
            if step == 4 {
                self.optimizer.decay(10.0);
            }
            let rows: Vec<f32> = ids
                .iter()
                .flat_map(|&i| x[i * DIM..(i + 1) * DIM].to_vec())
                .collect();
            let labels: Vec<f32> = ids.iter().map(|&i| y[i]).collect();
            let t = Tensor::<2>::from_data(TensorData::new(rows, [ids.len(), DIM]), &self.device);
            let z = self.model.score(t);
            let loss = self.objective.forward(z, &labels, ids).unwrap();
            let model = std::mem::replace(&mut self.model, Mlp::new(DIM, &[5], &self.device));
            self.model = self.optimizer.step(model, &mut self.objective, loss);
        }
    }

    fn save(&self) -> Snapshot {
        let mut s = Snapshot::new();
        save_module(&self.model, "model", &mut s);
        self.objective.save_state(&mut s);
        self.optimizer.save_state(&self.ids(), &mut s).unwrap();
        s
    }

    fn restore(&mut self, s: &Snapshot) {
        let model = std::mem::replace(&mut self.model, Mlp::new(DIM, &[5], &self.device));
        self.model = restore_module(model, "model", s).unwrap();
        self.objective.restore_state(s).unwrap();
        let ids = self.ids();
        self.optimizer.restore_state(&ids, s, &self.device).unwrap();
    }
}

#[test]
fn every_objective_and_optimizer_resumes_bit_for_bit() {
    for name in [
        "aucm+pesg",
        "compositional+pdsca",
        "ap+soap",
        "pauc_dro+sopa_s",
        "pauc_cvar+sopa",
        "tpauc_kl+sota_s",
        "tpauc_cvar+staco",
        "ce+sgd",
    ] {
        let mut a = Run::new(name, 1);
        a.steps(0..7);
        let saved = a.save();
        a.steps(7..12);

        let mut b = Run::new(name, 2);
        assert_ne!(
            b.save(),
            saved,
            "{name}: the fresh run must start elsewhere"
        );
        b.restore(&saved);
        assert_eq!(
            b.save(),
            saved,
            "{name}: restore is not the inverse of save"
        );
        b.steps(7..12);
        assert_eq!(
            a.save(),
            b.save(),
            "{name}: the resumed run differs from the uninterrupted one"
        );
    }
}

#[test]
fn a_checkpoint_of_another_model_or_data_set_is_refused_with_the_reason() {
    let a = Run::new("ap+soap", 1);
    let saved = a.save();
    let device = Device::flex().autodiff();
    let wider = Mlp::new(DIM, &[7], &device);
    let e = restore_module(wider, "model", &saved)
        .unwrap_err()
        .to_string();
    assert!(e.contains("another model"), "{e}");
    let mut other = Objective::Ap(ApLoss::new(ApConfig::new(N + 1), &device).unwrap());
    let e = other.restore_state(&saved).unwrap_err().to_string();
    assert!(
        e.contains("other data") && e.contains("`loss.u_all`"),
        "{e}"
    );
}
