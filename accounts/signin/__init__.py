"""Sign-in factors and single sign-on."""
