import { Component, lazy, Suspense, useState, type ComponentType, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A screen an operator does not open while waiting for calls (admin console, exchange, portal
 * settings, calls for you, the mail desk, the supervisor's review, live view, audit and reports):
 * its code is a chunk of its own (Vite splits the bundle at the dynamic import in `load`), fetched
 * and compiled the first time the screen is shown. An idle window then neither parses nor keeps
 * the code and data of screens it never opens (bench:memory reads the idle renderer).
 *
 * Important: `load` must be the only way the screen's module is imported outside its own feature
 * folder; one static import elsewhere puts it back in the main bundle.
 */
export function lazyScreen<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  const make = () => lazy(async () => ({ default: await load() }));
  // Module-wide, so that a screen shown again renders at once from the loaded chunk; replaced
  // only by "Try again" after a failed load (React.lazy keeps a rejected load for good).
  let Screen = make();
  function LazyScreen(props: P) {
    const [attempt, setAttempt] = useState(0);
    const retry = () => {
      Screen = make();
      setAttempt((n) => n + 1);
    };
    return (
      <ScreenFailure key={attempt} onRetry={retry}>
        <Suspense fallback={<ScreenLoading />}>
          <Screen {...props} />
        </Suspense>
      </ScreenFailure>
    );
  }
  return LazyScreen;
}

function ScreenLoading() {
  const { t } = useTranslation();
  return (
    <p className="screen-loading" role="status" data-testid="screen-loading">
      {t('app.screenLoading')}
    </p>
  );
}

interface ScreenFailureProps {
  onRetry: () => void;
  children: ReactNode;
}

/**
 * A screen whose code could not be loaded (or that failed while rendering) says so in its own
 * place, with a way to try again, instead of taking the whole window (the softphone with it) down.
 */
class ScreenFailure extends Component<ScreenFailureProps, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render() {
    return this.state.error ? <ScreenFailureNotice message={this.state.error.message} onRetry={this.props.onRetry} /> : this.props.children;
  }
}

function ScreenFailureNotice({ message, onRetry }: { message: string; onRetry: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" data-testid="screen-failed">
      <p>{t('app.screenFailed', { message })}</p>
      <button type="button" onClick={onRetry}>
        {t('app.screenRetry')}
      </button>
    </div>
  );
}
