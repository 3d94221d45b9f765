//! Random views of small grey images for contrastive learning (issue 5: "the usual
//! augmentations"): random crop after zero padding, horizontal flip, Gaussian pixel noise and
//! random erasing, each drawn from the caller's seeded RNG. Images are row-major `h × w`
//! `f32`.

use rand::RngExt;
use rand_distr::{Distribution, Normal};

/// Which augmentations, how strong (defaults: pad 4, flip, noise σ 0.1, erase with p 0.5 a
/// rectangle of 2–20 % of the image).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Zero padding on each side before a random `h × w` crop (0: no crop).
    pub pad: usize,
    /// Flip left–right with probability ½.
    pub flip: bool,
    /// Standard deviation of added Gaussian noise (0: none).
    pub noise: f32,
    /// Probability of erasing one random rectangle (set to 0).
    pub erase_prob: f64,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            pad: 4,
            flip: true,
            noise: 0.1,
            erase_prob: 0.5,
        }
    }
}

impl Augment {
    /// One random view of `img` (`h × w`).
    pub fn view(&self, img: &[f32], h: usize, w: usize, rng: &mut impl rand::Rng) -> Vec<f32> {
        debug_assert_eq!(img.len(), h * w);
        let mut out = vec![0.0f32; h * w];
        let p = self.pad as i64;
        let (dy, dx) = if p > 0 {
            (rng.random_range(-p..=p), rng.random_range(-p..=p))
        } else {
            (0, 0)
        };
        let flip = self.flip && rng.random_bool(0.5);
        for y in 0..h {
            let sy = y as i64 + dy;
            if sy < 0 || sy >= h as i64 {
                continue;
            }
            for x in 0..w {
                let sx = x as i64 + dx;
                if sx < 0 || sx >= w as i64 {
                    continue;
                }
                let tx = if flip { w - 1 - x } else { x };
                out[y * w + tx] = img[sy as usize * w + sx as usize];
            }
        }
        if self.erase_prob > 0.0 && rng.random_bool(self.erase_prob.min(1.0)) {
            let area = rng.random_range(0.02..0.2) * (h * w) as f64;
            let ratio: f64 = rng.random_range(0.3..3.3);
            let eh = ((area * ratio).sqrt().round() as usize).clamp(1, h);
            let ew = ((area / ratio).sqrt().round() as usize).clamp(1, w);
            let (y0, x0) = (rng.random_range(0..=h - eh), rng.random_range(0..=w - ew));
            for y in y0..y0 + eh {
                out[y * w + x0..y * w + x0 + ew].fill(0.0);
            }
        }
        if self.noise > 0.0
            && let Ok(n) = Normal::new(0.0f32, self.noise)
        {
            for v in &mut out {
                *v += n.sample(rng);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn identity_when_off_and_seeded_when_on() {
        let img: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let off = Augment {
            pad: 0,
            flip: false,
            noise: 0.0,
            erase_prob: 0.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(off.view(&img, 4, 4, &mut rng), img);
        let flip_only = Augment { flip: true, ..off };
        let mut seen_flip = false;
        for _ in 0..20 {
            let v = flip_only.view(&img, 4, 4, &mut rng);
            if v != img {
                assert_eq!(&v[..4], &[3.0, 2.0, 1.0, 0.0]);
                seen_flip = true;
            }
        }
        assert!(seen_flip);
        let on = Augment::default();
        let a = on.view(&img, 4, 4, &mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
        let b = on.view(&img, 4, 4, &mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b);
        // A crop shifts content: with pad 1 and no flip/noise, every pixel comes from the
        // image or is 0.
        let crop = Augment { pad: 1, ..off };
        let v = crop.view(&img, 4, 4, &mut rng);
        assert!(v.iter().all(|p| *p == 0.0 || img.contains(p)));
    }
}
