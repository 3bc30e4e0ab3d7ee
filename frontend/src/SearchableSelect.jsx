// The `searchable_select` widget of the ui_schema conventions (contract/ui_schema.py): a
// select the admin filters by typing. With `free_entry`, what was typed may be kept as the
// value (a question of a form created later); the plugin judges it when the form is saved.
import { useId, useMemo, useState } from 'react';

function labelOf(options, value) {
  const found = options.find((option) => option.value === value);
  return found ? found.label : value ?? '';
}

export function SearchableSelect({ id, value, onChange, onBlur, onFocus, options, disabled, readonly, placeholder }) {
  const choices = options.enumOptions ?? [];
  const freeEntry = options.free_entry === true;
  const listId = useId();
  const [query, setQuery] = useState(null); // null: not searching, the value's label shows
  const [active, setActive] = useState(0);
  const matches = useMemo(() => {
    if (query === null) return choices;
    const wanted = query.trim().toLowerCase();
    return choices.filter(
      (option) => option.label.toLowerCase().includes(wanted) || String(option.value).toLowerCase().includes(wanted),
    );
  }, [choices, query]);
  const open = query !== null && !disabled && !readonly;

  const pick = (option) => {
    onChange(option.value);
    setQuery(null);
  };
  const keepTyped = () => {
    if (query === null) return;
    const typed = query.trim();
    if (freeEntry && typed && !choices.some((option) => option.value === typed)) {
      const exact = choices.find((option) => option.label.toLowerCase() === typed.toLowerCase());
      onChange(exact ? exact.value : typed);
    } else if (!typed) {
      onChange(undefined);
    }
    setQuery(null);
  };
  const onKeyDown = (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      if (query === null) setQuery('');
      setActive((index) => Math.min(index + 1, Math.max(matches.length - 1, 0)));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((index) => Math.max(index - 1, 0));
    } else if (event.key === 'Enter' && open) {
      event.preventDefault();
      if (matches[active]) pick(matches[active]);
      else keepTyped();
    } else if (event.key === 'Escape') {
      setQuery(null);
    }
  };

  return (
    <div className="searchable-select">
      <input
        id={id}
        type="text"
        className="form-control"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        autoComplete="off"
        placeholder={placeholder}
        disabled={disabled}
        readOnly={readonly}
        value={query ?? labelOf(choices, value)}
        onFocus={(event) => {
          if (!readonly && !disabled) setQuery('');
          setActive(0);
          onFocus?.(id, event.target.value);
        }}
        onChange={(event) => {
          setQuery(event.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        onBlur={(event) => {
          keepTyped();
          onBlur?.(id, event.target.value);
        }}
      />
      {open ? (
        <ul className="searchable-options" role="listbox" id={listId}>
          {matches.map((option, index) => (
            <li
              key={String(option.value)}
              role="option"
              aria-selected={index === active}
              className={index === active ? 'active' : undefined}
              // mousedown, not click: the input's blur would otherwise close the list first
              onMouseDown={(event) => {
                event.preventDefault();
                pick(option);
              }}
            >
              <span>{option.label}</span>
              <code>{String(option.value)}</code>
            </li>
          ))}
          {matches.length === 0 ? (
            <li className="searchable-empty" aria-disabled="true">
              {freeEntry ? 'No such question: press Enter to keep what you typed.' : 'No match.'}
            </li>
          ) : null}
        </ul>
      ) : null}
    </div>
  );
}
