"""Show: plots, the pathway diagram and the HTML report; they change no number."""
