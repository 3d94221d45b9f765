//! `GclBimodalLoss` — the two-way global contrastive loss for paired modalities (image–text,
//! title–body), LibAUC GCLoss_v2 (spec `libauc_spec.md` §2.15; `tempnet_isogclr_spec.md` §1.4,
//! §3.3): the burn adapter of [`xrisk_kernels::gcl_bimodal`]. `S = I·Tᵀ` is formed here, in
//! burn; the kernel returns the value, `∂value/∂S` (and, for network temperatures,
//! `∂value/∂τ`) and updates the state; burn's autodiff carries the gradients on.

use super::gcl::check_views;
use super::{gradient_of, host, inject};
use crate::error::{Result, XriskError};
use burn::tensor::{Device, Tensor};
pub use xrisk_kernels::gcl_bimodal::GclBimodalConfig;
use xrisk_kernels::gcl_bimodal::{GclBimodalKernel, Temperatures};

/// The bimodal global contrastive loss with its per-pair state.
#[derive(Debug, Clone)]
pub struct GclBimodalLoss {
    kernel: GclBimodalKernel,
}

impl GclBimodalLoss {
    /// A loss with zeroed state (on the host; iSogCLR: every τ = `tau`); errors on a bad
    /// setting or tables that cannot be allocated.
    pub fn new(config: GclBimodalConfig, _device: &Device) -> Result<Self> {
        Ok(GclBimodalLoss {
            kernel: GclBimodalKernel::new(config)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &GclBimodalConfig {
        self.kernel.config()
    }

    /// `(u, b)` per pair id, for the image side and the text side.
    pub fn state(&self) -> [(Vec<f32>, Vec<f32>); 2] {
        let [(u1, b1), (u2, b2)] = self.kernel.state();
        [(u1.to_vec(), b1.to_vec()), (u2.to_vec(), b2.to_vec())]
    }

    /// iSogCLR's `(τ, τ-gradient average)` per pair id, image side then text side.
    pub fn temperatures(&self) -> Option<[(Vec<f32>, Vec<f32>); 2]> {
        self.kernel
            .temperatures()
            .map(|[(a, b), (c, d)]| [(a.to_vec(), b.to_vec()), (c.to_vec(), d.to_vec())])
    }

    /// Sets γ for `epoch` by the schedule (call at the start of every epoch).
    pub fn adjust_gamma(&mut self, epoch: usize) {
        self.kernel.adjust_gamma(epoch);
    }

    /// The loss of a batch of pairs (`image`, `text`: `[B, d]`) with distinct pair ids; updates
    /// the state (and iSogCLR's temperatures).
    pub fn forward(
        &mut self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
    ) -> Result<Tensor<1>> {
        let (s, sv) = self.similarities(image, text, ids)?;
        let mut g = vec![0.0f32; sv.len()];
        let out = self
            .kernel
            .forward(&sv, ids, Temperatures::Config, &mut g, None)?;
        Ok(inject(s, g, out.value))
    }

    /// The robust loss with temperatures from networks (TempNet for CLIP, spec
    /// `tempnet_isogclr_spec.md` §3.3): `tau_image`, `tau_text` `[B]` carry the networks'
    /// graphs. The contrastive part uses them as constants; the returned loss adds
    /// `½·mean_i sg(G_i)·τ_i` per side with `G_i = ln u_i + ρ + b_i − Σ_j (N_ij/u_i)·Z_ij/(B−1)`
    /// (≈ ρ − KL, iSogCLR's τ-gradient), so one backward pass moves the encoders by the GCL
    /// estimator and the networks by the DRO τ-gradient. Use with iSogCLR off
    /// (`config.isogclr = None`).
    pub fn forward_tempnet(
        &mut self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
        tau_image: Tensor<1>,
        tau_text: Tensor<1>,
        rho: f64,
    ) -> Result<Tensor<1>> {
        let n = image.dims()[0];
        if tau_image.dims()[0] != n || tau_text.dims()[0] != n {
            return Err(XriskError::LengthMismatch {
                scores: n,
                labels: tau_image.dims()[0],
                ids: tau_text.dims()[0],
            });
        }
        let (s, sv) = self.similarities(image, text, ids)?;
        let (ti, tt) = (host(&tau_image), host(&tau_text));
        let mut g = vec![0.0f32; sv.len()];
        let (mut gi, mut gt) = (vec![0.0f32; n], vec![0.0f32; n]);
        let temps = Temperatures::Networks {
            image: &ti,
            text: &tt,
            rho,
        };
        let out = self
            .kernel
            .forward(&sv, ids, temps, &mut g, Some((&mut gi, &mut gt)))?;
        Ok(inject(s, g, out.value) + gradient_of(tau_image, gi) + gradient_of(tau_text, gt))
    }

    /// `S = I·Tᵀ` of a checked batch, and its values on the host.
    fn similarities(
        &self,
        image: Tensor<2>,
        text: Tensor<2>,
        ids: &[usize],
    ) -> Result<(Tensor<2>, Vec<f32>)> {
        check_views(
            &image,
            &text,
            ids.len(),
            "the contrastive loss needs at least 2 pairs per batch (every other pair is a negative)",
        )?;
        let s = image.matmul(text.transpose());
        let sv = host(&s);
        Ok((s, sv))
    }
}

impl crate::persist::Persist for GclBimodalLoss {
    fn save(&self, prefix: &str, s: &mut xrisk_data::snapshot::Snapshot) {
        let temps = self.kernel.temperatures();
        for (side, (u, b)) in self.kernel.state().into_iter().enumerate() {
            super::save_table(s, prefix, &format!("{side}.u"), u);
            super::save_table(s, prefix, &format!("{side}.b"), b);
            if let Some(t) = &temps {
                super::save_table(s, prefix, &format!("{side}.tau"), t[side].0);
                super::save_table(s, prefix, &format!("{side}.grad_tau"), t[side].1);
            }
        }
        s.put_scalar(format!("{prefix}.gamma"), self.kernel.gamma());
    }

    fn restore(&mut self, prefix: &str, s: &xrisk_data::snapshot::Snapshot) -> Result<()> {
        let iso = self.kernel.temperatures().is_some();
        for side in 0..2 {
            let (tau, grad): (&[f32], &[f32]) = if iso {
                (
                    super::table(s, prefix, &format!("{side}.tau"))?,
                    super::table(s, prefix, &format!("{side}.grad_tau"))?,
                )
            } else {
                (&[], &[])
            };
            self.kernel
                .load_side(
                    side,
                    super::table(s, prefix, &format!("{side}.u"))?,
                    super::table(s, prefix, &format!("{side}.b"))?,
                    tau,
                    grad,
                )
                .map_err(super::restore_error(prefix))?;
        }
        self.kernel.set_gamma(super::scalar(s, prefix, "gamma")?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::IsogclrConfig;
    use burn::tensor::{Distribution, TensorData};

    /// `forward_tempnet` sends iSogCLR's τ-gradient `G_i` into the temperature networks
    /// (∂loss/∂τ_i = G_i/(2B), halved with the rest) and its contrastive part equals the
    /// global-temperature loss at the same τ.
    #[test]
    fn tempnet_gradient_is_isogclr_tau_gradient() {
        let device = Device::flex().autodiff();
        let (b, d, tau0) = (6, 5, 0.05);
        let feats = |seed| {
            let mut x: Vec<f32> =
                Tensor::<2>::random([b, d], Distribution::Normal(0.0, 1.0), &Device::flex())
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap();
            x.rotate_left(seed);
            crate::encoder::normalize_rows(Tensor::<2>::from_data(
                TensorData::new(x, [b, d]),
                &device,
            ))
        };
        device.seed(3);
        let (img, txt) = (feats(0), feats(7));
        let ids: Vec<usize> = (10..10 + b).collect();
        let rho = 2.0;
        let mut iso = GclBimodalLoss::new(
            GclBimodalConfig {
                tau: tau0,
                isogclr: Some(IsogclrConfig {
                    tau_min: 0.001,
                    tau_max: 1.0,
                    rho,
                    eta: 0.0,
                    beta: 1.0,
                }),
                ..GclBimodalConfig::new(20)
            },
            &device,
        )
        .unwrap();
        let iso_loss = iso.forward(img.clone(), txt.clone(), &ids).unwrap();
        let [(_, g_img), (_, g_txt)] = iso.temperatures().unwrap();
        let mut net = GclBimodalLoss::new(
            GclBimodalConfig {
                tau: tau0,
                ..GclBimodalConfig::new(20)
            },
            &device,
        )
        .unwrap();
        let ti = Tensor::<1>::full([b], tau0, &device).require_grad();
        let tt = Tensor::<1>::full([b], tau0, &device).require_grad();
        let loss = net
            .forward_tempnet(img, txt, &ids, ti.clone(), tt.clone(), rho)
            .unwrap();
        let host = |t: Tensor<1>| super::host(&t);
        // Value: the contrastive part plus ½·(mean G_img·τ + mean G_txt·τ).
        let extra: f64 =
            (ids.iter().map(|&i| g_img[i] + g_txt[i]).sum::<f32>() as f64) * tau0 / b as f64 / 2.0;
        let (lv, iv) = (host(loss.clone())[0] as f64, host(iso_loss)[0] as f64);
        assert!((lv - (iv + extra)).abs() < 1e-4, "{lv} vs {iv} + {extra}");
        let grads = loss.backward();
        let (gi, gt) = (
            host(ti.grad(&grads).unwrap()),
            host(tt.grad(&grads).unwrap()),
        );
        for (k, &i) in ids.iter().enumerate() {
            let scale = 2.0 * b as f32;
            assert!(
                (gi[k] * scale - g_img[i]).abs() < 1e-3,
                "{} vs {}",
                gi[k] * scale,
                g_img[i]
            );
            assert!(
                (gt[k] * scale - g_txt[i]).abs() < 1e-3,
                "{} vs {}",
                gt[k] * scale,
                g_txt[i]
            );
        }
    }
}
