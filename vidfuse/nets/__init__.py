"""Network definitions (torch). Engines wrap them; training code trains them."""
