"""2D GAN playground: a tiny MLP GAN learning a point cloud in the plane, and everything to watch it.

    >>> pg = Playground(PRESETS["Stable"].settings)
    >>> pg.step(PRESETS["Stable"].steps)
    >>> v = pg.view()          # real / fake points, D heatmap, latent-grid image, gradient arrows, histories
    >>> pg.coverage(), v.n_modes
    (8, 8)

* targets.py: the point clouds, their modes and the coverage rule; CSV uploads;
* game.py: Settings, the Playground (step, view, coverage) and the lesson PRESETS;
* live.py: plotly figures of a View, the background Runner, benchmark_playground.
"""

from explorer.learn.playground.game import (
                                      ARROWS,
                                      EVAL_EVERY,
                                      EVAL_POINTS,
                                      HEAT_RES,
                                      LOSSES,
                                      OPTIMIZERS,
                                      PRESETS,
                                      VIEW_POINTS,
                                      Playground,
                                      Preset,
                                      Settings,
                                      View,
                                      gradient_penalty,
                                      latent_grid,
                                      mlp,
)
from explorer.learn.playground.live import Runner, benchmark_playground, figures
from explorer.learn.playground.targets import (
                                      MAX_CSV_BYTES,
                                      MAX_CSV_ROWS,
                                      MIN_CSV_ROWS,
                                      TARGETS,
                                      Target,
                                      make_target,
                                      modes_covered,
                                      parse_points_csv,
)

__all__ = ["ARROWS", "EVAL_EVERY", "EVAL_POINTS", "HEAT_RES", "LOSSES", "MAX_CSV_BYTES", "MAX_CSV_ROWS",
           "MIN_CSV_ROWS", "OPTIMIZERS", "PRESETS", "TARGETS", "VIEW_POINTS", "Playground", "Preset", "Runner",
           "Settings", "Target", "View", "benchmark_playground", "figures", "gradient_penalty", "latent_grid",
           "make_target", "mlp", "modes_covered", "parse_points_csv"]
