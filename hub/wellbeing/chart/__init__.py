"""`hub report`: one page of pictures from the unit's own data (matplotlib, imported only here)."""
