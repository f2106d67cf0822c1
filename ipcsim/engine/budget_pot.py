"""A site's personal-budget pot: refilled each period, paying agreed budgets in turn.

With ``[budget_envelope]`` a site has a fixed sum for personal budgets each period (a month,
or a financial year from April: :func:`ipcsim.periods.budget_period_starts`). A budget agreed
when the pot cannot cover it waits, and so does everyone behind it, until a new period
refills the pot. Amounts in pounds; time in days since the run's start date.
"""

from __future__ import annotations

from collections import deque

import simpy

from ipcsim.engine.runtime import Process
from ipcsim.periods import budget_period_starts
from ipcsim.scenario import BudgetEnvelope, RunConfig


class Envelope:
    """A site's personal-budget pot for the current period, and the budgets held for it.

    Parameters
    ----------
    env
        The SimPy environment.
    config
        The site's ``[budget_envelope]`` settings.
    """

    def __init__(self, env: simpy.Environment, config: BudgetEnvelope) -> None:
        self.env = env
        self.config = config
        self.remaining_gbp = 0.0
        # (amount in pounds, event that fires when it is paid), first come first served.
        self.held: deque[tuple[float, simpy.Event]] = deque()

    def periods(self, run: RunConfig) -> Process:
        """Refill the pot at the start of each period and pay the budgets held for it."""
        env = self.env
        config = self.config
        for day in budget_period_starts(run.start_date, run.horizon_days, config.period):
            yield env.timeout(day - env.now)
            self.remaining_gbp = config.amount_gbp
            self._pay_held()

    def money_for(self, amount_gbp: float) -> Process:
        """Wait until the pot can pay ``amount_gbp`` (at once if it can now)."""
        event = self.env.event()
        self.held.append((amount_gbp, event))
        self._pay_held()
        yield event

    def _pay_held(self) -> None:
        # First come, first served: a budget the pot cannot cover holds those behind it.
        held = self.held
        while held and held[0][0] <= self.remaining_gbp:
            amount, event = held.popleft()
            self.remaining_gbp -= amount
            event.succeed()
