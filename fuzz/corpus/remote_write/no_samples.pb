


__name__m