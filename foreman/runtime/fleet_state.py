"""Keys of the issue database's ``fleet_state`` table that the foreman writes and the workers read.

The foreman owns each key; a worker (and the dashboard) only reads it. Values are JSON.
"""

RUN_OVER = "run_over"  #: bool: the foreman records here that the run is over; standalone workers then exit
