"""Step-by-step diagnostic workup of symptomatic hypocalcemia in infants and children."""
